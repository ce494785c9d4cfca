//! kernel/auditsc.c (with the include/linux/audit.h wrappers): audit
//! contexts, `audit_names` entries, and the references they hold.
//!
//! Each function checks the wrapper's condition first (no context or a dummy
//! context means the `__audit_*` function is never called), then follows the
//! `__audit_*` body. The names_list of a context is changed only by its own
//! thread, so list walks are local work; reads of other threads' state
//! (a filename's fields, an entry reached through `aname`) are steps, or, in
//! a local list walk, at least checked by the oracle.

use super::machine::Machine;
use super::namei::{putname, refname};
use super::state::{AuditName, CtxState, EntryId, FileId, NameType, Tid, Uptr, AUDIT_NAMES};
use crate::oracle::Holder;

/// kernel/auditsc.c `audit_alloc_name`: the next preallocated slot
/// (memset: a write another thread may see through a stale `aname`) or,
/// from the sixth name on, a kzalloc'd entry with `should_free`; append it
/// to `names_list`.
pub async fn audit_alloc_name(m: &Machine, t: Tid, ty: NameType) -> EntryId {
    let (e, prealloc) = m.local(|w| {
        let count = w.k.ctx(t).map_or(0, |c| c.names.len());
        if count < AUDIT_NAMES {
            let e = w.k.ctx(t).map(|c| c.prealloc[count]).unwrap_or(EntryId(0));
            (e, true)
        } else {
            let e = EntryId(w.k.entries.len() as u16);
            w.k.entries.push(AuditName {
                owner: t,
                slot: None,
                ty,
                name: None,
                ino: None,
                should_free: true,
                gen: 0,
                last_change: None,
                linked: true,
                freed: false,
            });
            w.oracle.on_entries(w.k.entries.len());
            (e, false)
        }
    });
    if prealloc {
        m.entry_memset(t, e, ty).await;
    }
    m.local(|w| {
        if let Some(c) = w.k.ctx_mut(t) {
            c.names.push(e);
        }
    });
    e
}

/// include/linux/audit.h `audit_reusename` → kernel/auditsc.c
/// `__audit_reusename`: if an entry on the current context's list holds a
/// filename copied from the same user pointer, take a reference for
/// `holder` and return it.
pub async fn audit_reusename(m: &Machine, t: Tid, uptr: Uptr, holder: Holder) -> Option<FileId> {
    if m.local(|w| w.k.audit_dummy_context(t)) {
        return None;
    }
    let _f = m.enter(t, "__audit_reusename");
    let hit = m.local(|w| {
        let names = w.k.ctx(t)?.names.clone_for_walk();
        for e in names.iter() {
            let Some(f) = w.k.entry(*e).name else {
                continue;
            };
            let site = w.site(t);
            let v = w.k.name(f).refcnt;
            w.oracle.on_read(f, site, "read n->name->uptr", v);
            if w.k.name(f).uptr == Some(uptr) {
                return Some(f);
            }
        }
        None
    })?;
    refname(m, t, hit, holder).await;
    Some(hit)
}

/// include/linux/audit.h `audit_getname` → kernel/auditsc.c
/// `__audit_getname`: in a SYSCALL or URING context, record the name in a
/// new entry (`n->name = name; name->aname = n; name->refcnt++`).
pub async fn audit_getname(m: &Machine, t: Tid, f: FileId) {
    if m.local(|w| w.k.audit_dummy_context(t)) {
        return;
    }
    let _f = m.enter(t, "__audit_getname");
    if m.local(|w| w.k.ctx(t).is_none_or(|c| c.state == CtxState::Unused)) {
        return;
    }
    let e = audit_alloc_name(m, t, NameType::Unknown).await;
    m.local(|w| w.k.entry_mut(e).name = Some(f));
    m.aname_store(t, f, e).await;
    refname(m, t, f, Holder::Entry(e)).await;
}

fn type_matches(parent: bool, ty: NameType) -> bool {
    if parent {
        ty == NameType::Parent || ty == NameType::Unknown
    } else {
        ty != NameType::Parent
    }
}

/// include/linux/audit.h `audit_inode` → kernel/auditsc.c `__audit_inode`.
///
/// In a used context: take the `name->aname` shortcut when the entry's type
/// fits (`PARENT`/`UNKNOWN` for a parent lookup, anything but `PARENT`
/// otherwise) — reading and writing that entry even when it belongs to
/// another task; else search the current context's list backwards by inode
/// or by name string; else (`out_alloc`) add an entry holding a new
/// reference. At `out:` the entry becomes `PARENT` or `NORMAL` with the
/// inode copied in.
pub async fn audit_inode(m: &Machine, t: Tid, f: FileId, ino: u32, parent: bool) {
    if m.local(|w| w.k.audit_dummy_context(t)) {
        return;
    }
    let _f = m.enter(t, "__audit_inode");
    if m.local(|w| w.k.ctx(t).is_none_or(|c| c.state == CtxState::Unused)) {
        return;
    }
    let out_ty = if parent {
        NameType::Parent
    } else {
        NameType::Normal
    };
    if let Some(p) = m.aname_load(t, f).await {
        let ty = m.entry_read_type(t, p).await;
        if type_matches(parent, ty) {
            m.entry_write(t, p, out_ty, ino).await;
            return;
        }
    }
    let found = m.local(|w| {
        let names = w.k.ctx(t)?.names.clone_for_walk();
        let my_path = w.k.name(f).path;
        for e in names.iter().rev() {
            let n = w.k.entry(*e);
            if let Some(n_ino) = n.ino {
                if n_ino != ino {
                    continue;
                }
            } else if let Some(nf) = n.name {
                let site = w.site(t);
                let v = w.k.name(nf).refcnt;
                w.oracle
                    .on_read(nf, site, "strcmp(n->name->name, name->name)", v);
                if w.k.name(nf).path != my_path {
                    continue;
                }
            } else {
                continue;
            }
            if type_matches(parent, w.k.entry(*e).ty) {
                return Some(*e);
            }
        }
        None
    });
    let e = match found {
        Some(e) => e,
        None => {
            let e = audit_alloc_name(m, t, NameType::Unknown).await;
            m.local(|w| w.k.entry_mut(e).name = Some(f));
            refname(m, t, f, Holder::Entry(e)).await;
            e
        }
    };
    m.local(|w| {
        let n = w.k.entry_mut(e);
        n.ty = out_ty;
        n.ino = Some(ino);
    });
}

/// include/linux/audit.h `audit_inode_child` → kernel/auditsc.c
/// `__audit_inode_child`: look in the current list for the parent (a named
/// `PARENT`/`UNKNOWN` entry on the directory whose last component is the
/// child's name) and for the child (a named entry of this type or
/// `UNKNOWN` with the child's name). A missing parent becomes an anonymous
/// entry; a missing child becomes a new entry that, when the parent was
/// found, takes the parent's name and a reference on it.
pub async fn audit_inode_child(m: &Machine, t: Tid, dir_ino: u32, child: Uptr, ty: NameType) {
    if m.local(|w| w.k.audit_dummy_context(t)) {
        return;
    }
    let _f = m.enter(t, "__audit_inode_child");
    if m.local(|w| w.k.ctx(t).is_none_or(|c| c.state == CtxState::Unused)) {
        return;
    }
    let (found_parent, found_child) = m.local(|w| {
        let Some(c) = w.k.ctx(t) else {
            return (None, None);
        };
        let names = c.names.clone_for_walk();
        let mut found_parent = None;
        for e in names.iter() {
            let n = w.k.entry(*e);
            let Some(nf) = n.name else { continue };
            if n.ty != NameType::Parent && n.ty != NameType::Unknown {
                continue;
            }
            if n.ino != Some(dir_ino) {
                continue;
            }
            let site = w.site(t);
            let v = w.k.name(nf).refcnt;
            w.oracle
                .on_read(nf, site, "audit_compare_dname_path(n->name->name)", v);
            if w.k.name(nf).path == child {
                let n = w.k.entry_mut(*e);
                if n.ty == NameType::Unknown {
                    n.ty = NameType::Parent;
                }
                found_parent = Some(*e);
                break;
            }
        }
        let mut found_child = None;
        for e in names.iter() {
            let n = w.k.entry(*e);
            let Some(nf) = n.name else { continue };
            if n.ty != ty && n.ty != NameType::Unknown {
                continue;
            }
            let site = w.site(t);
            let v = w.k.name(nf).refcnt;
            w.oracle
                .on_read(nf, site, "strcmp(dname, n->name->name)", v);
            if w.k.name(nf).path == child {
                let n = w.k.entry_mut(*e);
                if n.ty == NameType::Unknown {
                    n.ty = ty;
                }
                found_child = Some(*e);
                break;
            }
        }
        (found_parent, found_child)
    });
    if found_parent.is_none() {
        let e = audit_alloc_name(m, t, NameType::Parent).await;
        m.local(|w| w.k.entry_mut(e).ino = Some(dir_ino));
    }
    if found_child.is_none() {
        let e = audit_alloc_name(m, t, ty).await;
        if let Some(p) = found_parent {
            let name = m.local(|w| {
                let name = w.k.entry(p).name;
                w.k.entry_mut(e).name = name;
                name
            });
            if let Some(f) = name {
                refname(m, t, f, Holder::Entry(e)).await;
            }
        }
    }
}

/// kernel/auditsc.c `audit_reset_context` → `audit_free_names`: the context
/// becomes UNUSED; unless dummy, every entry is unlinked, its name put and,
/// if kzalloc'd, freed. `filename->aname` is not cleared.
pub async fn audit_reset_context(m: &Machine, t: Tid) {
    let _f = m.enter(t, "audit_reset_context");
    let dummy = m.local(|w| match w.k.ctx_mut(t) {
        None => true,
        Some(c) => {
            c.state = CtxState::Unused;
            c.dummy
        }
    });
    if dummy {
        return;
    }
    let _g = m.enter(t, "audit_free_names");
    loop {
        let next = m.local(|w| {
            let c = w.k.ctx_mut(t)?;
            if c.names.is_empty() {
                return None;
            }
            let e = c.names.remove(0);
            let n = w.k.entry(e);
            Some((e, n.name, n.should_free))
        });
        if let Some((e, _, _)) = next {
            m.entry_unlink(t, e).await;
        }
        let Some((e, name, should_free)) = next else {
            break;
        };
        if let Some(f) = name {
            putname(m, t, f, Holder::Entry(e)).await;
        }
        if should_free {
            m.entry_free(t, e).await;
        }
    }
}

/// kernel/auditsc.c `__audit_syscall_entry`: with audit enabled, the
/// context becomes SYSCALL and `dummy = !audit_n_rules`.
pub fn audit_syscall_entry(m: &Machine, t: Tid) {
    m.local(|w| {
        let enabled = w.k.audit_enabled();
        let rules = w.k.audit_rules();
        if let (true, Some(c)) = (enabled, w.k.ctx_mut(t)) {
            c.dummy = !rules;
            c.state = CtxState::Syscall;
        }
    });
}

/// kernel/auditsc.c `__audit_syscall_exit`: log (not modelled) and
/// `audit_reset_context` — also when dummy or not in a syscall, where the
/// kernel jumps to `out:` and still resets.
pub async fn audit_syscall_exit(m: &Machine, t: Tid) {
    if m.local(|w| w.k.ctx(t).is_none()) {
        return;
    }
    let _f = m.enter(t, "__audit_syscall_exit");
    audit_reset_context(m, t).await;
}

/// include/linux/audit.h `audit_uring_entry` (context and `audit_enabled`)
/// → kernel/auditsc.c `__audit_uring_entry`: nothing in a SYSCALL context
/// (names go to the syscall's list); otherwise the context becomes URING
/// with `dummy = !audit_n_rules`.
pub fn audit_uring_entry(m: &Machine, t: Tid) {
    m.local(|w| {
        let enabled = w.k.audit_enabled();
        let rules = w.k.audit_rules();
        if let (true, Some(c)) = (enabled, w.k.ctx_mut(t)) {
            if c.state == CtxState::Syscall {
                return;
            }
            c.dummy = !rules;
            c.state = CtxState::Uring;
        }
    });
}

/// include/linux/audit.h `audit_uring_exit` (skipped for a dummy context)
/// → kernel/auditsc.c `__audit_uring_exit`: in a SYSCALL context log and
/// return without a reset; otherwise `audit_reset_context`.
pub async fn audit_uring_exit(m: &Machine, t: Tid) {
    if m.local(|w| w.k.audit_dummy_context(t)) {
        return;
    }
    let _f = m.enter(t, "__audit_uring_exit");
    if m.local(|w| w.k.ctx(t).is_some_and(|c| c.state == CtxState::Syscall)) {
        return;
    }
    audit_reset_context(m, t).await;
}

/// Walk a names_list without holding a borrow of the context.
trait CloneForWalk {
    fn clone_for_walk(&self) -> WalkBuf;
}

/// A copy of a names_list on the stack (no allocation): lists longer than
/// the buffer are walked over their first `WALK` entries only, which the
/// scenario bounds keep out of reach.
struct WalkBuf {
    ids: [EntryId; WALK],
    len: usize,
}

const WALK: usize = 64;

impl WalkBuf {
    fn iter(&self) -> std::slice::Iter<'_, EntryId> {
        self.ids[..self.len].iter()
    }
}

impl CloneForWalk for Vec<EntryId> {
    fn clone_for_walk(&self) -> WalkBuf {
        let mut ids = [EntryId(0); WALK];
        let len = self.len().min(WALK);
        ids[..len].copy_from_slice(&self[..len]);
        WalkBuf { ids, len }
    }
}
