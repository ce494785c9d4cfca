//! Exhaustive exploration: every schedule of a program, by depth-first
//! search over the choice points (as loom's `rt/path.rs` does). Each run
//! replays the recorded choices and branches at the first new point; the
//! search backtracks on the deepest point that has an untried thread.
//!
//! Only for small programs: the count grows exponentially with steps.

use crate::executor::{run_with, Chooser, Outcome, RunOptions};
use crate::kernel::era::Era;
use crate::program::{Program, Schedule, Slice};

struct Branch {
    /// Runnable threads at this point.
    options: u8,
    /// The thread taken.
    taken: usize,
}

struct Dfs<'p> {
    path: &'p mut Vec<Branch>,
    depth: usize,
}

impl Chooser for Dfs<'_> {
    fn choose(&mut self, runnable: u8) -> usize {
        let d = self.depth;
        self.depth += 1;
        if d < self.path.len() {
            return self.path[d].taken;
        }
        let taken = runnable.trailing_zeros() as usize;
        self.path.push(Branch {
            options: runnable,
            taken,
        });
        taken
    }
}

/// Run every schedule of `program` in `era`, calling `visit` with each
/// schedule (one single-step slice per step) and its outcome; stop early
/// when `visit` returns false or after `limit` schedules. Returns the number
/// of schedules run.
pub fn explore(
    program: &Program,
    era: Era,
    limit: usize,
    mut visit: impl FnMut(&Schedule, &Outcome) -> bool,
) -> usize {
    let mut path: Vec<Branch> = Vec::new();
    let mut count = 0;
    loop {
        let outcome = {
            let mut dfs = Dfs {
                path: &mut path,
                depth: 0,
            };
            run_with(program, era, &mut dfs, &RunOptions::default())
        };
        count += 1;
        let schedule = Schedule {
            slices: path
                .iter()
                .map(|b| Slice {
                    thread: b.taken as u8,
                    steps: 1,
                })
                .collect(),
        };
        if !visit(&schedule, &outcome) || count >= limit {
            return count;
        }
        // Backtrack to the deepest branch with an untried higher thread.
        loop {
            let Some(last) = path.last_mut() else {
                return count;
            };
            let higher = last.options & !((2u16 << last.taken) - 1) as u8;
            if higher != 0 {
                last.taken = higher.trailing_zeros() as usize;
                break;
            }
            path.pop();
        }
    }
}
