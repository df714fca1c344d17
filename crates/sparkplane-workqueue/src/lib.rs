//! The one all-cores work queue: how many threads the machine gives
//! ([`cores`]), a queue ([`WorkQueue`]) that hands items out in runs to that
//! many threads and gives the results back in the items' order, and one sort on every core
//! ([`sort_on_all_cores`]). ADR 0085 says why it is hand-written and not a
//! thread pool crate.
//!
//! Owns: the cores count (looked up once per process), the threads of a
//! queue (spawned, joined, and a panic on one caught there, so it neither
//! hangs nor takes the other threads' work with it), the runs items are taken
//! in, and the order results come back in.
//! Must not: know what an item is (a log, a row group), read or write
//! anything itself, or keep a thread past the call that started it (a pool
//! kept alive would hold its threads' memory and thread-locals between
//! listings). It depends on no crate, so every crate may use it.

use std::any::Any;
use std::cmp::Ordering;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, OnceLock, PoisonError};

/// How many threads work on every core: the machine's cores, or what its
/// cgroup allows, looked up once (each look reads the cgroup's files); 1
/// when the system does not say.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A run of work over many items: on how many threads, taken how many at a
/// time, and what each thread runs inside. Every call spawns its threads
/// (scoped: they may borrow) and joins them before it returns, the calling
/// thread waiting meanwhile; a queue of one thread spawns none and works on
/// the calling thread. (The calling thread working as one of the threads
/// raised the DQ scan's peak memory by 8 MiB when measured: ADR 0085.)
///
/// A thread takes the next `run` items at once: 1 for big items (whole
/// logs), so a few big ones spread over the threads; more for small steps,
/// so the threads meet at the queue less often. Each item ends (is dropped)
/// on the thread that took it.
#[derive(Clone, Copy)]
pub struct WorkQueue<'s> {
    threads: usize,
    run: usize,
    inside: Option<&'s ThreadScope>,
}

/// What each thread of a queue runs its work inside
/// ([`WorkQueue::each_thread_inside`]): it is given the thread's work and
/// must call it once.
pub type ThreadScope = dyn Fn(&mut dyn FnMut()) + Sync;

impl WorkQueue<'static> {
    /// A queue on every core ([`cores`]), one item at a time.
    pub fn on_all_cores() -> WorkQueue<'static> {
        WorkQueue::on_threads(cores())
    }

    /// A queue on `threads` threads (at least one), one item at a time: more
    /// than [`cores`] pays off when the work also waits (a file's fsync, an
    /// object's PUT); a command's `--threads` asks for an exact number.
    pub fn on_threads(threads: usize) -> WorkQueue<'static> {
        WorkQueue { threads: threads.max(1), run: 1, inside: None }
    }
}

impl<'s> WorkQueue<'s> {
    /// Each thread takes `run` items at a time (at least one).
    pub fn in_runs_of(self, run: usize) -> WorkQueue<'s> {
        WorkQueue { run: run.max(1), ..self }
    }

    /// Each thread runs its work inside `scope`, which must call the work it
    /// is given once: a thread's set-up and tear-down, such as a thread-local
    /// kept for the work and cleared after it.
    pub fn each_thread_inside<'t>(self, scope: &'t ThreadScope) -> WorkQueue<'t> {
        WorkQueue { threads: self.threads, run: self.run, inside: Some(scope) }
    }

    /// How many threads this queue runs at most.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` over every item; each result in the order of `items`.
    /// A panic ends the thread it happened on: the items of the run it was
    /// working on are `None`, and so are the items no thread was left to
    /// take (none while another thread is alive); the other results stand.
    pub fn map<S, T>(&self, items: S, work: impl Fn(S::Item) -> T + Sync) -> Vec<Option<T>>
    where
        S: IntoIterator,
        S::IntoIter: ExactSizeIterator + Send,
        T: Send,
    {
        let items = items.into_iter();
        let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items.len()).map(|_| None).collect());
        let room = self.run.min(items.len()).max(1);
        self.each_worker(items, |turns| {
            let (mut taken, mut done) = (Vec::with_capacity(room), Vec::with_capacity(room));
            while let Some(start) = turns.take(&mut taken) {
                done.extend(taken.drain(..).map(&work));
                // Written only here, after the work: a panicked thread poisons nothing.
                let mut results = results.lock().unwrap_or_else(PoisonError::into_inner);
                let slots = results.get_mut(start..).unwrap_or_default();
                for (slot, result) in slots.iter_mut().zip(done.drain(..)) {
                    *slot = Some(result);
                }
            }
        });
        results.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `work` over every item with a state of its thread's own (made by
    /// `state` on that thread, such as a partial sum merged afterwards); the
    /// values in the order of `items`, and every thread's state. The first
    /// error stops the threads taking more items, and the error of the
    /// earliest item that failed is returned. A panic in `work` is raised
    /// again on the calling thread once every thread has ended.
    pub fn try_map_with<S, W, T, E>(
        &self,
        items: S,
        state: impl Fn() -> W + Sync,
        work: impl Fn(&mut W, S::Item) -> Result<T, E> + Sync,
    ) -> Result<(Vec<T>, Vec<W>), E>
    where
        S: IntoIterator,
        S::IntoIter: Send,
        W: Send,
        T: Send,
        E: Send,
    {
        let room = self.run.min(1024);
        let workers = self.each_worker(items.into_iter(), |turns| {
            let (mut mine, mut done, mut taken) = (state(), Vec::new(), Vec::with_capacity(room));
            while let Some(start) = turns.take(&mut taken) {
                for (at, item) in (start..).zip(taken.drain(..)) {
                    let result = work(&mut mine, item);
                    let failed = result.is_err();
                    done.push((at, result));
                    if failed {
                        // Later items are not needed to report the error.
                        turns.stop();
                        break;
                    }
                }
            }
            (done, mine)
        });
        let (mut results, mut states) = (Vec::new(), Vec::with_capacity(workers.len()));
        for worker in workers {
            match worker {
                Ok((done, state)) => {
                    results.extend(done);
                    states.push(state);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        results.sort_unstable_by_key(|(at, _)| *at);
        let values = results.into_iter().map(|(_, result)| result).collect::<Result<Vec<T>, E>>()?;
        Ok((values, states))
    }

    /// The queue itself, for work that [`WorkQueue::map`] does not fit (items
    /// streamed from a source read as they are taken, results gathered some
    /// other way): every thread runs `worker`, which takes its runs from the
    /// [`Turns`] until they are all taken, and gives back what it made. One
    /// result per thread; `Err` with the panic for a thread that panicked
    /// (the others go on). As many threads as the queue has, but no more than
    /// `items` has runs when it says how many items it holds.
    pub fn each_worker<S, R>(&self, items: S, worker: impl Fn(&Turns<S>) -> R + Sync) -> Vec<std::thread::Result<R>>
    where
        S: Iterator + Send,
        R: Send,
    {
        let most = items.size_hint().1.map_or(usize::MAX, |count| count.div_ceil(self.run));
        let threads = self.threads.min(most).max(1);
        let turns = Turns { left: Mutex::new(Left { items, next: 0, stopped: false }), run: self.run };
        let one = || self.contained(|| worker(&turns));
        if threads == 1 {
            return vec![one()];
        }
        std::thread::scope(|scope| {
            let spawned: Vec<_> = (0..threads).map(|_| scope.spawn(one)).collect();
            // A thread's panic was caught on it (`contained`); a join fails only if catching it did.
            spawned.into_iter().map(|thread| thread.join().unwrap_or_else(Err)).collect()
        })
    }

    /// Runs one thread's work inside the queue's scope, its panic caught.
    fn contained<R>(&self, work: impl FnOnce() -> R) -> std::thread::Result<R> {
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| match self.inside {
            None => Some(work()),
            Some(inside) => {
                let (mut work, mut made) = (Some(work), None);
                inside(&mut || {
                    if let Some(work) = work.take() {
                        made = Some(work());
                    }
                });
                made
            }
        }));
        ran.and_then(|made| made.ok_or_else(|| Box::new(NOT_RUN) as Box<dyn Any + Send>))
    }
}

/// What a thread's result says when its scope did not run its work.
const NOT_RUN: &str = "the queue's scope for each thread did not run the work it was given";

/// The items of one [`WorkQueue::each_worker`] call, which its threads take
/// in turns, each run with the place of its first item in `items`.
pub struct Turns<S> {
    left: Mutex<Left<S>>,
    run: usize,
}

/// The items not taken yet, the place of the next, and whether taking stopped.
struct Left<S> {
    items: S,
    next: usize,
    stopped: bool,
}

impl<S: Iterator> Turns<S> {
    /// Adds the next run of items to `into` and says the place of its first
    /// in the items (0 for the first item); `None`, adding nothing, once
    /// every item is taken or taking has stopped ([`Turns::stop`]). The items
    /// are read from their source while no other thread takes any.
    pub fn take(&self, into: &mut Vec<S::Item>) -> Option<usize> {
        // A source that panicked while read poisons the lock; what it holds is still the source.
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        if left.stopped {
            return None;
        }
        let before = into.len();
        into.extend(left.items.by_ref().take(self.run));
        let taken = into.len() - before;
        let start = left.next;
        left.next += taken;
        (taken > 0).then_some(start)
    }

    /// No thread takes another item after this: what is taken is finished,
    /// the rest is left (and dropped with the queue, on the calling thread).
    pub fn stop(&self) {
        self.left.lock().unwrap_or_else(PoisonError::into_inner).stopped = true;
    }
}

/// Sorts `items` as `sort_unstable_by` does, on every core: one selection
/// pass puts them on either side of their median (`select_nth_unstable_by`),
/// and each side is sorted on a thread of its own (split again on more than
/// two cores). Fewer than 4,096 items, or one core, take one plain sort.
pub fn sort_on_all_cores<T: Send>(items: &mut [T], compare: impl Fn(&T, &T) -> Ordering + Sync) {
    fn sort<T: Send>(items: &mut [T], threads: usize, compare: &(impl Fn(&T, &T) -> Ordering + Sync)) {
        if threads <= 1 || items.len() < 4096 {
            items.sort_unstable_by(compare);
            return;
        }
        let middle = items.len() / 2;
        items.select_nth_unstable_by(middle, compare);
        let (low, high) = items.split_at_mut(middle);
        std::thread::scope(|scope| {
            scope.spawn(|| sort(low, threads / 2, compare));
            sort(high, threads - threads / 2, compare);
        });
    }
    sort(items, cores(), &compare);
}

#[cfg(test)]
mod tests;
