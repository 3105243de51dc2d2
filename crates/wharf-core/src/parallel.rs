//! Running independent jobs on every core: the one thread pool pattern wharf uses (packages to inspect,
//! packages to write, files to copy and flush), so results never depend on scheduling.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of cores, at least 1 (asked once: the answer reads cgroup files).
#[must_use]
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Runs `f` on every item on up to `threads` threads — each takes the next item when it is free, so a few
/// large items do not leave a thread idle — and returns the results in `items` order. A panic in `f` is
/// resumed on the caller's thread.
pub fn map_in_order<I: Sync, T: Send>(items: &[I], threads: usize, f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            mine.push((i, f(item)));
        }
        mine
    };
    let mut done: Vec<(usize, T)> = std::thread::scope(|s| {
        // The calling thread is one of the workers: it starts at once, where a new thread can take
        // milliseconds to be scheduled on a busy or virtual machine, and one thread fewer is made.
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut done = work();
        for h in helpers {
            done.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        done
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_whatever_the_threads() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [1, 2, 7, 64] {
            let out = map_in_order(&items, threads, |i| {
                // Uneven work, so threads finish out of order.
                (0..(i % 13) * 1000).fold(*i, |a, b| a.wrapping_add(b)) - (0..(i % 13) * 1000).sum::<u64>()
            });
            assert_eq!(out, items, "{threads} threads");
        }
        assert!(map_in_order(&[] as &[u8], 4, |_| ()).is_empty());
    }
}
