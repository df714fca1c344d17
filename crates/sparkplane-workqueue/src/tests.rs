//! The queue's promises: results in the items' order on any number of
//! threads, the first error in the items' order, one thread being the
//! calling one, nothing to do on no items, and a panic that neither hangs
//! the call nor loses another thread's work.

use std::any::Any;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use super::*;

#[test]
fn the_cores_are_looked_up_once_and_at_least_one() {
    assert!(cores() >= 1);
    assert_eq!(cores(), cores());
    assert_eq!(WorkQueue::on_all_cores().threads(), cores());
    assert_eq!(WorkQueue::on_threads(0).threads(), 1, "at least one thread");
}

#[test]
fn results_come_back_in_the_items_order_on_any_number_of_threads_and_runs() {
    let items: Vec<u32> = (0..1000).collect();
    let expected: Vec<Option<u32>> = items.iter().map(|i| Some(i * 2)).collect();
    for threads in [1, 2, 3, 8] {
        for run in [1, 7, 256, 5000] {
            let doubled = WorkQueue::on_threads(threads).in_runs_of(run).map(items.clone(), |i| i * 2);
            assert_eq!(doubled, expected, "{threads} threads, runs of {run}");
        }
    }
    // Borrowed items too.
    let lengths = WorkQueue::on_threads(3).map(["a", "bb", "ccc"].iter(), |s| s.len());
    assert_eq!(lengths, [Some(1), Some(2), Some(3)]);
}

#[test]
fn no_items_is_no_work_and_no_thread() {
    let caller = std::thread::current().id();
    assert!(WorkQueue::on_threads(4).map(Vec::<u32>::new(), |i| i).is_empty());
    let ran_on = WorkQueue::on_threads(4).each_worker(Vec::<u32>::new().into_iter(), |turns| {
        let mut taken = Vec::new();
        assert_eq!(turns.take(&mut taken), None);
        std::thread::current().id()
    });
    assert_eq!(ran_on.len(), 1, "one thread for nothing");
    assert!(matches!(ran_on[0], Ok(id) if id == caller));
    let (values, states) = WorkQueue::on_threads(4)
        .try_map_with(Vec::<u32>::new(), || 0u32, |_, i| Ok::<u32, String>(i))
        .expect("nothing fails");
    assert!(values.is_empty());
    assert_eq!(states, [0]);
}

#[test]
fn one_thread_is_the_calling_thread_and_spawns_none() {
    let caller = std::thread::current().id();
    let ran_on = WorkQueue::on_threads(1).map(0..50, |_| std::thread::current().id());
    assert!(ran_on.iter().all(|id| *id == Some(caller)));
    // A queue of more threads than the items have runs spawns no more than it needs.
    let threads = WorkQueue::on_threads(8).in_runs_of(10).each_worker(0..15, |_| ());
    assert_eq!(threads.len(), 2);
}

#[test]
fn every_thread_runs_inside_the_scope_it_is_given() {
    thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
    }
    let scope = |work: &mut dyn FnMut()| {
        INSIDE.set(true);
        work();
        INSIDE.set(false);
    };
    let inside = WorkQueue::on_threads(3).each_thread_inside(&scope).map(0..300, |_| INSIDE.get());
    assert!(inside.iter().all(|seen| *seen == Some(true)));
    assert!(!INSIDE.get(), "the calling thread is left as it was");
    // A scope that forgets the work is a thread that did nothing, said as an error.
    let forgetful = |_: &mut dyn FnMut()| {};
    let threads = WorkQueue::on_threads(1).each_thread_inside(&forgetful).each_worker(0..3, |_| ());
    assert!(threads[0].is_err());
}

#[test]
fn a_streamed_source_is_taken_in_runs_by_every_thread_each_item_once_with_its_place() {
    // A source that does not say its length: every thread of the queue is started.
    let source = (0..10_000u32).filter(|_| true);
    let threads = WorkQueue::on_threads(3).in_runs_of(64).each_worker(source, |turns| {
        let (mut taken, mut seen) = (Vec::new(), Vec::new());
        while let Some(start) = turns.take(&mut taken) {
            assert!(taken.len() <= 64);
            for (at, item) in (start..).zip(taken.drain(..)) {
                seen.push((at, item));
            }
        }
        seen
    });
    assert_eq!(threads.len(), 3);
    let mut seen: Vec<(usize, u32)> = threads.into_iter().flat_map(|t| t.expect("no panic")).collect();
    seen.sort_unstable();
    let expected: Vec<(usize, u32)> = (0..10_000).map(|i| (i as usize, i)).collect();
    assert_eq!(seen, expected);
}

#[test]
fn a_panic_loses_only_its_own_run_and_hangs_nothing() {
    let items: Vec<u32> = (0..1000).collect();
    let fails_at_503 = |i: u32| {
        assert!(i != 503, "the item that fails");
        i
    };
    // Two threads: the run of 500..510 is lost, the other thread finishes every other item.
    let results = WorkQueue::on_threads(2).in_runs_of(10).map(items.clone(), fails_at_503);
    let missing: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(at, _)| at).collect();
    assert_eq!(missing, (500..510).collect::<Vec<_>>());
    // One thread: the panic ends it, so nothing after its run is done.
    let results = WorkQueue::on_threads(1).in_runs_of(10).map(items.clone(), fails_at_503);
    let missing: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(at, _)| at).collect();
    assert_eq!(missing, (500..1000).collect::<Vec<_>>());
    // Each item ends on the thread that took it, done, panicked or never reached: none is left alive.
    let alive = Arc::new(());
    let held: Vec<(u32, Arc<()>)> = items.iter().map(|i| (*i, Arc::clone(&alive))).collect();
    let results = WorkQueue::on_threads(2).in_runs_of(10).map(held, |(i, _alive)| fails_at_503(i));
    assert_eq!(results.iter().filter(|r| r.is_none()).count(), 10);
    assert_eq!(Arc::strong_count(&alive), 1);
    // The queue itself says which thread panicked, and the others' work stands.
    let threads = WorkQueue::on_threads(2).each_worker(0..2, |turns| {
        let mut taken = Vec::new();
        let mut mine = 0;
        while turns.take(&mut taken).is_some() {
            for item in taken.drain(..) {
                assert!(item != 0, "the thread that takes 0 fails");
                mine += 1;
            }
        }
        mine
    });
    assert_eq!(threads.iter().filter(|t| t.is_err()).count(), 1, "the thread that took 0");
    assert_eq!(threads.iter().filter(|t| t.is_ok()).count(), 1, "the other thread");
    let panicked = threads.into_iter().find_map(Result::err).expect("one panicked");
    assert!(message(&*panicked).contains("the thread that takes 0 fails"));
}

/// A panic's message, whether it was formatted or a literal.
fn message(payload: &(dyn Any + Send)) -> &str {
    let literal = payload.downcast_ref::<&str>().copied();
    literal.or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or_default()
}

#[test]
fn the_earliest_error_is_returned_and_no_more_is_taken_after_one() {
    let worked = AtomicUsize::new(0);
    let fails_from_100 = |seen: &mut usize, i: u32| {
        worked.fetch_add(1, AtomicOrdering::Relaxed);
        *seen += 1;
        if i >= 100 { Err(format!("item {i}")) } else { Ok(i) }
    };
    // One thread: the items up to the first error, and no further.
    let failed = WorkQueue::on_threads(1).try_map_with(0..10_000, || 0usize, fails_from_100).unwrap_err();
    assert_eq!(failed, "item 100");
    assert_eq!(worked.load(AtomicOrdering::Relaxed), 101);
    // Two threads: whichever thread failed first, the earliest item's error.
    for _ in 0..20 {
        let failed = WorkQueue::on_threads(2).try_map_with(0..10_000, || 0usize, fails_from_100).unwrap_err();
        assert_eq!(failed, "item 100");
    }
    // Nothing fails: every value in order, and each thread's state, which together saw every item.
    let (values, states) = WorkQueue::on_threads(2)
        .in_runs_of(3)
        .try_map_with(0..100u32, || 0usize, fails_from_100)
        .expect("all below 100");
    assert_eq!(values, (0..100).collect::<Vec<_>>());
    assert_eq!(states.len(), 2);
    assert_eq!(states.iter().sum::<usize>(), 100);
}

#[test]
fn a_panic_in_a_fallible_run_is_raised_on_the_calling_thread_after_the_others_end() {
    let worked = AtomicUsize::new(0);
    let raised = std::panic::catch_unwind(AssertUnwindSafe(|| {
        WorkQueue::on_threads(2).try_map_with(
            0..200u32,
            || (),
            |(), i| {
                worked.fetch_add(1, AtomicOrdering::Relaxed);
                assert!(i != 7, "the item that fails");
                Ok::<u32, String>(i)
            },
        )
    }));
    let payload = raised.expect_err("the panic comes back");
    assert!(message(&*payload).contains("the item that fails"), "{}", message(&*payload));
    // The other thread was not stopped by it: every item was worked on, the one that failed included.
    assert_eq!(worked.load(AtomicOrdering::Relaxed), 200);
}

#[test]
fn a_sort_on_every_core_orders_as_one_sort_does() {
    // Small and large inputs, sorted, reversed, shuffled and full of equal keys.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for len in [0, 1, 5, 4095, 4096, 50_001] {
        let shuffled: Vec<(u64, u32)> = (0..len).map(|i| (next() % 1000, i)).collect();
        let sorted: Vec<(u64, u32)> = (0..len).map(|i| (u64::from(i), i)).collect();
        let reversed: Vec<(u64, u32)> = sorted.iter().rev().copied().collect();
        for input in [shuffled, sorted, reversed] {
            let mut expected = input.clone();
            expected.sort_unstable_by_key(|item| item.0);
            let mut got = input;
            sort_on_all_cores(&mut got, |a, b| a.0.cmp(&b.0));
            // Unstable: equal keys may come in any order, so the keys and the items (as sets) are compared.
            assert_eq!(got.iter().map(|i| i.0).collect::<Vec<_>>(), expected.iter().map(|i| i.0).collect::<Vec<_>>());
            got.sort_unstable();
            expected.sort_unstable();
            assert_eq!(got, expected, "{len} items: every item once");
        }
    }
}
