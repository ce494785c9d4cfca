//! fs/namei.c: `struct filename` life cycle and the path walks that report
//! names to audit.

use super::auditsc::{audit_getname, audit_inode, audit_inode_child, audit_reusename};
use super::era::{PutnameKind, RefcntKind};
use super::machine::{Ghost, Machine};
use super::state::{file_ino, FileId, NameType, Tid, Uptr, DIR_INO};
use crate::oracle::Holder;

/// `name->refcnt++` (before 6.6: a load and a store) or
/// `atomic_inc(&name->refcnt)` (6.6), giving `holder` a reference.
///
/// Follows the increments in kernel/auditsc.c `__audit_getname`,
/// `__audit_inode`, `__audit_inode_child` and `__audit_reusename`.
pub async fn refname(m: &Machine, t: Tid, f: FileId, holder: Holder) {
    match m.era().refcnt() {
        RefcntKind::Plain => {
            let v = m.load(t, f).await;
            m.store(t, f, v + 1, Ghost::Take(holder)).await;
        }
        RefcntKind::Atomic => {
            m.atomic_add(t, f, 1, Ghost::Take(holder)).await;
        }
    }
}

/// fs/namei.c `getname_flags` (and `getname`, `getname_uflags`): reuse a
/// name the current audit context already holds for this user pointer, or
/// allocate one (`refcnt = 1`, `uptr`, `aname = NULL`) and register it with
/// `audit_getname`. The returned reference belongs to `holder`. In 7.0
/// (`do_getname(…, incomplete = false)`) there is no reuse and no `uptr`.
pub async fn getname_flags(m: &Machine, t: Tid, uptr: Uptr, holder: Holder) -> FileId {
    let _f = m.enter(t, "getname_flags");
    let reuse = m.era().audit_reusename();
    if reuse {
        if let Some(f) = audit_reusename(m, t, uptr, holder).await {
            return f;
        }
    }
    let f = m.alloc_name(t, reuse.then_some(uptr), uptr, holder).await;
    audit_getname(m, t, f).await;
    f
}

/// fs/namei.c `delayed_getname` / `delayed_getname_uflags` (7.0):
/// `do_getname(…, incomplete = true)` copies the name without
/// `audit_getname`; the request holds it (`struct delayed_filename`) until
/// the thread that issues the request completes it.
pub async fn delayed_getname(m: &Machine, t: Tid, path: Uptr, holder: Holder) -> FileId {
    let _f = m.enter(t, "delayed_getname");
    m.alloc_name(t, None, path, holder).await
}

/// fs/namei.c `complete_getname` (7.0): take the stashed name out of the
/// `delayed_filename` and register it with audit on the calling thread.
pub async fn complete_getname(m: &Machine, t: Tid, f: FileId) {
    let _f = m.enter(t, "complete_getname");
    audit_getname(m, t, f).await;
}

/// fs/namei.c `putname_to_delayed` (7.0): after -EAGAIN, give the name back
/// to the request. If this is its only reference (`refcnt == 1`) the name
/// itself goes back; otherwise (audit holds it too) drop this reference
/// (`name->refcnt--`) and stash a fresh, unregistered copy
/// (`do_getname_kernel(name->name, true)`). Returns the name the request
/// now holds, for `holder`.
pub async fn putname_to_delayed(m: &Machine, t: Tid, f: FileId, holder: Holder) -> FileId {
    let _f = m.enter(t, "putname_to_delayed");
    let v = m.load(t, f).await;
    if v == 1 {
        return f;
    }
    m.store(t, f, v - 1, Ghost::Release(holder)).await;
    let path = m.local(|w| w.k.name(f).path);
    let _g = m.enter(t, "do_getname_kernel");
    m.alloc_name(t, None, path, holder).await
}

/// fs/namei.c `getname_kernel`: like `getname_flags` for a kernel string:
/// no `uptr`, no `audit_reusename`.
pub async fn getname_kernel(m: &Machine, t: Tid, path: Uptr, holder: Holder) -> FileId {
    let _f = m.enter(t, "getname_kernel");
    let f = m.alloc_name(t, None, path, holder).await;
    audit_getname(m, t, f).await;
    f
}

fn underflow(m: &Machine, t: Tid, f: FileId, check: &'static str, v: i32) {
    m.local(|w| {
        let site = w.site(t);
        w.oracle.on_underflow(f, site, check, v);
    });
}

/// fs/namei.c `putname`: `holder` drops its reference.
///
/// Before 6.6: `BUG_ON(name->refcnt <= 0); if (--name->refcnt > 0) return;`
/// then free — a load (with the BUG check), a store, and the free. A BUG
/// kills the thread.
///
/// From 6.6: `if (WARN_ON_ONCE(!atomic_read(&name->refcnt))) return;` then
/// `if (!atomic_dec_and_test(&name->refcnt)) return;` then free — two
/// steps and the free.
///
/// 7.0: `refcnt = name->refcnt; if (refcnt != 1) { if (WARN_ON_ONCE(!refcnt))
/// return; name->refcnt--; return; }` then free — a load, then a store or
/// the free.
pub async fn putname(m: &Machine, t: Tid, f: FileId, holder: Holder) {
    let _f = m.enter(t, "putname");
    match m.era().putname_kind() {
        PutnameKind::BugOnDecrement => {
            let v = m.load(t, f).await;
            if v <= 0 {
                underflow(m, t, f, "BUG_ON(name->refcnt <= 0)", v);
                m.oops(t).await;
                return;
            }
            m.store(t, f, v - 1, Ghost::Release(holder)).await;
            if v - 1 > 0 {
                return;
            }
            m.free_name(t, f, Ghost::None).await;
        }
        PutnameKind::AtomicWarn => {
            let v = m.atomic_read(t, f).await;
            if v == 0 {
                underflow(m, t, f, "WARN_ON_ONCE(!atomic_read(&name->refcnt))", v);
                // The caller believes its reference is gone.
                m.local(|w| w.oracle.release(f, holder));
                return;
            }
            let after = m.atomic_add(t, f, -1, Ghost::Release(holder)).await;
            if after < 0 {
                underflow(m, t, f, "atomic_dec_and_test below zero", after);
            }
            if after != 0 {
                return;
            }
            m.free_name(t, f, Ghost::None).await;
        }
        PutnameKind::FreeAtOne => {
            let v = m.load(t, f).await;
            if v != 1 {
                if v <= 0 {
                    // The kernel warns at 0 and returns; below 0 it would
                    // decrement on — either way the count is already wrong.
                    underflow(m, t, f, "WARN_ON_ONCE(!refcnt)", v);
                    if v == 0 {
                        m.local(|w| w.oracle.release(f, holder));
                        return;
                    }
                }
                m.store(t, f, v - 1, Ghost::Release(holder)).await;
                return;
            }
            m.free_name(t, f, Ghost::Release(holder)).await;
        }
    }
}

/// What a `do_filp_open` attempt ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenResult {
    /// Opened (or failed for a reason that still consumes the attempt).
    Done,
    /// A nonblocking (LOOKUP_CACHED) walk could not finish: -EAGAIN.
    Again,
}

/// How an open walks the last component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenHow {
    /// O_CREAT.
    pub creat: bool,
    /// The file exists.
    pub exists: bool,
    /// LOOKUP_CACHED is set and the walk misses the dcache.
    pub cached_miss: bool,
}

/// fs/namei.c `do_filp_open` → `path_openat`: walk `name->name`; for
/// O_CREAT, `open_last_lookups` reports the parent
/// (`audit_inode(nd->name, dir, AUDIT_INODE_PARENT)`) and then either
/// `lookup_open` creates the file (`audit_inode_child(…, CHILD_CREATE)`,
/// FMODE_CREATED) or `do_open` reports the existing one
/// (`audit_inode(nd->name, dentry, 0)`, skipped when FMODE_CREATED). A
/// missing file without O_CREAT fails with -ENOENT before any audit call.
pub async fn do_filp_open(m: &Machine, t: Tid, f: FileId, how: OpenHow) -> OpenResult {
    let _f = m.enter(t, "do_filp_open");
    let _g = m.enter(t, "path_openat");
    m.name_read(t, f).await;
    if how.cached_miss {
        return OpenResult::Again;
    }
    let path = m.local(|w| w.k.name(f).path);
    if how.creat {
        {
            let _h = m.enter(t, "open_last_lookups");
            audit_inode(m, t, f, DIR_INO, true).await;
        }
        if how.exists {
            let _h = m.enter(t, "do_open");
            audit_inode(m, t, f, file_ino(path), false).await;
        } else {
            let _h = m.enter(t, "lookup_open");
            audit_inode_child(m, t, DIR_INO, path, NameType::ChildCreate).await;
        }
    } else if how.exists {
        let _h = m.enter(t, "do_open");
        audit_inode(m, t, f, file_ino(path), false).await;
    }
    OpenResult::Done
}

/// fs/namei.c `filename_parentat` (`__filename_parentat`): walk to the
/// parent and report it: `audit_inode(name, parent->dentry,
/// AUDIT_INODE_PARENT)`.
pub async fn filename_parentat(m: &Machine, t: Tid, f: FileId) {
    let _f = m.enter(t, "filename_parentat");
    m.name_read(t, f).await;
    audit_inode(m, t, f, DIR_INO, true).await;
}

/// fs/namei.c `filename_lookup`: walk the whole path and, when it
/// resolves, `audit_inode(name, path->dentry, 0)`.
pub async fn filename_lookup(m: &Machine, t: Tid, f: FileId, exists: bool) {
    let _f = m.enter(t, "filename_lookup");
    m.name_read(t, f).await;
    if exists {
        let path = m.local(|w| w.k.name(f).path);
        audit_inode(m, t, f, file_ino(path), false).await;
    }
}

/// fs/namei.c `do_renameat2`: both parents, then `vfs_rename`'s
/// `may_delete(old_dir, old_dentry)` and `may_create(new_dir, new_dentry)`
/// (each `audit_inode_child`), then `putname(from); putname(to);`. The new
/// name is modelled as not existing yet.
pub async fn do_renameat2(
    m: &Machine,
    t: Tid,
    from: FileId,
    to: FileId,
    exists: bool,
    holders: [Holder; 2],
) {
    let _f = m.enter(t, "do_renameat2");
    filename_parentat(m, t, from).await;
    filename_parentat(m, t, to).await;
    if exists {
        let _g = m.enter(t, "vfs_rename");
        let (old, new) = m.local(|w| (w.k.name(from).path, w.k.name(to).path));
        {
            let _h = m.enter(t, "may_delete");
            audit_inode_child(m, t, DIR_INO, old, NameType::ChildDelete).await;
        }
        let _h = m.enter(t, "may_create");
        audit_inode_child(m, t, DIR_INO, new, NameType::ChildCreate).await;
    }
    putname(m, t, from, holders[0]).await;
    putname(m, t, to, holders[1]).await;
}

/// fs/namei.c `do_unlinkat` (and `do_rmdir`): parent, `may_delete`'s
/// `audit_inode_child(…, CHILD_DELETE)` when the victim exists, then
/// `putname(name)`.
pub async fn do_unlinkat(m: &Machine, t: Tid, f: FileId, exists: bool, holder: Holder) {
    let _f = m.enter(t, "do_unlinkat");
    filename_parentat(m, t, f).await;
    if exists {
        let path = m.local(|w| w.k.name(f).path);
        let _g = m.enter(t, "may_delete");
        audit_inode_child(m, t, DIR_INO, path, NameType::ChildDelete).await;
    }
    putname(m, t, f, holder).await;
}

/// fs/namei.c `do_mkdirat`: `filename_create` (parent lookup), then
/// `vfs_mkdir`'s `may_create` (`audit_inode_child(…, CHILD_CREATE)`) unless
/// the name exists (-EEXIST), then `putname(name)`.
pub async fn do_mkdirat(m: &Machine, t: Tid, f: FileId, exists: bool, holder: Holder) {
    let _f = m.enter(t, "do_mkdirat");
    {
        let _g = m.enter(t, "filename_create");
        filename_parentat(m, t, f).await;
    }
    if !exists {
        let path = m.local(|w| w.k.name(f).path);
        let _g = m.enter(t, "may_create");
        audit_inode_child(m, t, DIR_INO, path, NameType::ChildCreate).await;
    }
    putname(m, t, f, holder).await;
}
