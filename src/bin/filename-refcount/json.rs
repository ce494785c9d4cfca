//! `replay --json`: one document per file (schema in README.md, "JSON output").

use crate::load::level_name;
use crate::replay::{kinds_list, object_label, role_name, thread_status, Replayed, StepView};
use filename_refcount::harness::Input;
use filename_refcount::kernel::state::{Opcode, Sqe, Tid};
use filename_refcount::kernel::task::Syscall;
use filename_refcount::ops::OpStep;
use filename_refcount::oracle::{Site, Violation};
use filename_refcount::report::{self, Names};
use filename_refcount::Scenario;
use serde_json::{json, Value};

fn sqe(q: &Sqe) -> Value {
    json!({
        "op": q.op.as_str(),
        "path": q.path.to_string(),
        "path2": (q.op == Opcode::Renameat).then(|| q.path2.to_string()),
        "exists": q.exists,
        "creat": q.creat,
        "trunc": q.trunc,
        "async": q.async_,
        "eagain": q.eagain,
    })
}

fn syscall(sc: &Syscall) -> Value {
    match sc {
        Syscall::IoUringEnter(sqes) => json!({
            "syscall": "io_uring_enter",
            "sqes": sqes.iter().map(sqe).collect::<Vec<_>>(),
        }),
        Syscall::Openat {
            path,
            creat,
            exists,
        } => json!({
            "syscall": "openat",
            "path": path.to_string(),
            "exists": exists,
            "creat": creat,
        }),
    }
}

fn op_step(op: &OpStep) -> Value {
    match *op {
        OpStep::Getname { uptr, token } => {
            json!({"op": "getname", "path": uptr.to_string(), "token": format!("n{token}")})
        }
        OpStep::GetnameKernel { path, token } => {
            json!({"op": "getname_kernel", "path": path.to_string(), "token": format!("n{token}")})
        }
        OpStep::AuditGetname { token } => {
            json!({"op": "audit_getname", "token": format!("n{token}")})
        }
        OpStep::AuditInode { token, parent } => json!({
            "op": "audit_inode", "token": format!("n{token}"),
            "lookup": if parent { "parent" } else { "file" },
        }),
        OpStep::AuditInodeChild { token, create } => json!({
            "op": "audit_inode_child", "token": format!("n{token}"),
            "type": if create { "create" } else { "delete" },
        }),
        OpStep::Putname { token } => json!({"op": "putname", "token": format!("n{token}")}),
        OpStep::Send { token, to } => {
            json!({"op": "send", "token": format!("n{token}"), "to": format!("T{to}")})
        }
        OpStep::Receive { token } => json!({"op": "receive", "token": format!("n{token}")}),
        OpStep::SyscallEntry => json!({"op": "syscall_entry"}),
        OpStep::SyscallExit => json!({"op": "syscall_exit"}),
        OpStep::UringEntry => json!({"op": "uring_entry"}),
        OpStep::UringExit => json!({"op": "uring_exit"}),
    }
}

fn scenario(s: &Scenario) -> Value {
    json!({
        "audit": s.audit.as_str(),
        "sqpoll": s.sqpoll,
        "workers": s.workers,
        "syscalls": s.syscalls.iter().map(syscall).collect::<Vec<_>>(),
    })
}

fn program(r: &Replayed) -> Value {
    let ops_of = |i: usize| -> Option<Vec<Value>> {
        match &r.input {
            Input::Ops(o) => Some(
                o.ops
                    .iter()
                    .filter(|(t, _)| *t as usize == i)
                    .map(|(_, op)| op_step(op))
                    .collect(),
            ),
            Input::Scenario(_) => None,
        }
    };
    let threads: Vec<Value> = r
        .program
        .threads
        .iter()
        .enumerate()
        .map(|(i, role)| {
            let mut t = json!({
                "index": i,
                "name": r.names.get(i),
                "role": role_name(role),
                "comm": r.program.comm(Tid(i as u8)),
                "end": r.outcome.threads.get(i).map(|s| thread_status(*s)),
            });
            if let (Some(ops), Some(obj)) = (ops_of(i), t.as_object_mut()) {
                obj.insert("ops".into(), Value::Array(ops));
            }
            t
        })
        .collect();
    json!({
        "audit": r.program.audit.as_str(),
        "threads": threads,
    })
}

fn site(r: &Replayed, s: &Site) -> Value {
    json!({
        "thread": r.names.get(s.thread.ix()),
        "function": s.function,
        "step": s.step,
    })
}

fn violation(r: &Replayed, names: &Names, v: &Violation) -> Value {
    json!({
        "kind": v.kind.as_str(),
        "thread": r.names.get(v.site.thread.ix()),
        "function": v.site.function,
        "step": v.site.step,
        "object": object_label(r.kernel(), &r.names, v.object),
        "access": v.access,
        "value": v.value,
        "other": v.other.as_ref().map(|o| site(r, o)),
        "message": report::describe(v, r.kernel(), names, r.era),
    })
}

fn step(r: &Replayed, s: &StepView) -> Value {
    json!({
        "index": s.index,
        "thread": r.names.get(s.thread),
        "function": s.function,
        "stack": s.stack,
        "operation": s.operation,
        "object": s.object,
        "detail": s.detail,
        "before": s.before,
        "after": s.after,
        "holders": s.holders,
        "violations": s.marks.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
    })
}

/// The JSON document of one replayed file.
pub fn document(r: &Replayed) -> Value {
    let names = Names::new(&r.program);
    let counted: Vec<Value> = r
        .counted()
        .into_iter()
        .map(|v| violation(r, &names, v))
        .collect();
    let uncounted: Vec<Value> = r
        .uncounted()
        .into_iter()
        .map(|v| violation(r, &names, v))
        .collect();
    let schedule: Vec<Value> = r
        .input
        .schedule()
        .slices
        .iter()
        .map(|s| {
            json!({
                "thread": r.names.get(s.thread as usize).cloned()
                    .unwrap_or_else(|| format!("#{}", s.thread)),
                "steps": if s.steps == 0 { json!("until-blocked") } else { json!(s.steps) },
            })
        })
        .collect();
    json!({
        "file": r.file,
        "era": r.era.as_str(),
        "level": level_name(r.input.level()),
        "target": r.target.map(|t| t.name()),
        "kinds": kinds_list(r.kinds),
        "input_text": r.input.to_text(Some(r.era)),
        "scenario": match &r.input {
            Input::Scenario(s) => scenario(&s.scenario),
            Input::Ops(_) => Value::Null,
        },
        "program": program(r),
        "schedule": schedule,
        "schedule_text": r.schedule_text(),
        "verdict": if counted.is_empty() { Value::Null } else { Value::Array(counted) },
        "uncounted": uncounted,
        "total_steps": r.outcome.steps,
        "steps": r.steps.iter().map(|s| step(r, s)).collect::<Vec<_>>(),
    })
}
