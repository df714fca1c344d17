use super::*;

/// A run of a 1-CPU driver and `executors` 1-CPU executors, as the queue's own tests size it.
use crate::queue::tests::demand as run;

fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + second).expect("time")
}

fn candidate(namespace: &str, name: &str, priority: i32, second: i64, executors: u32) -> Candidate {
    Candidate {
        namespace: namespace.into(),
        waiting: Waiting { name: name.into(), priority, queued_at: at(second) },
        demand: run(executors),
    }
}

/// A pool of `cpus` CPUs and 64Gi.
fn pool(cpus: u128) -> Pool {
    Pool {
        source: "the nodes' allocatable".into(),
        capacity: [("cpu".to_owned(), cpus * 1000), ("memory".to_owned(), 64 * 1024 * 1024 * 1024 * 1000)].into(),
        used: Amounts::new(),
    }
}

fn weights(a: u32, b: u32) -> BTreeMap<String, Standing> {
    [
        ("team-a".to_owned(), Standing { weight: a, history: 0.0 }),
        ("team-b".to_owned(), Standing { weight: b, history: 0.0 }),
    ]
    .into()
}

fn first(queue: &SharedQueue) -> String {
    order(queue).first().map(|c| format!("{}/{}", c.namespace, c.waiting.name)).unwrap_or_default()
}

#[test]
fn the_first_in_order_that_fits_is_admitted_and_says_what_the_pool_lacks_otherwise() {
    let queue = SharedQueue {
        pool: pool(4),
        admitted: vec![Held { namespace: "team-b".into(), demand: run(1) }],
        candidates: vec![candidate("team-a", "etl", 0, 1, 1)],
        tenants: BTreeMap::new(),
    };
    assert_eq!(admission(&queue, "team-a", "etl", &run(1)), Admission::Admit, "2 CPUs held of 4: 2 free");
    // Pods outside the runs hold room too.
    let busy = SharedQueue { pool: Pool { used: [("cpu".to_owned(), 500)].into(), ..pool(4) }, ..queue.clone() };
    assert_eq!(
        admission(&busy, "team-a", "etl", &run(1)),
        Admission::Waiting {
            reason: POOL_WAIT.into(),
            message: "waiting for room in the shared pool (the nodes' allocatable): cpu needs 2, 1500m free".into()
        }
    );
}

#[test]
fn priority_beats_weight_and_share() {
    // team-a weighs 4 and has nothing; team-b weighs 1, runs one and was given much lately.
    let mut tenants = weights(4, 1);
    tenants.insert("team-b".into(), Standing { weight: 1, history: 3.0 });
    let queue = SharedQueue {
        pool: pool(8),
        admitted: vec![Held { namespace: "team-b".into(), demand: run(1) }],
        candidates: vec![candidate("team-a", "low", 0, 1, 1), candidate("team-b", "urgent", 100, 9, 1)],
        tenants,
    };
    assert_eq!(first(&queue), "team-b/urgent");
    assert_eq!(admission(&queue, "team-b", "urgent", &run(1)), Admission::Admit);
    assert_eq!(
        admission(&queue, "team-a", "low", &run(1)),
        Admission::Waiting {
            reason: POOL_WAIT.into(),
            message: "queued for the shared pool behind 1 application(s) of higher priority or of a tenant with a smaller share for its weight; next is team-b/urgent".into()
        }
    );
    // At equal priority, the smaller share for its weight goes first, though queued later.
    let equal = SharedQueue {
        candidates: vec![candidate("team-b", "early", 0, 1, 1), candidate("team-a", "late", 0, 9, 1)],
        ..queue.clone()
    };
    assert_eq!(first(&equal), "team-a/late");
    // Equal shares: first queued, then namespace and name.
    let even = SharedQueue { admitted: vec![], tenants: BTreeMap::new(), ..equal.clone() };
    assert_eq!(first(&even), "team-b/early");
}

#[test]
fn the_running_share_is_the_dominant_resource_over_the_weight() {
    // team-a runs a 3-CPU run of 12 (a quarter); team-b a run of 1 CPU and 48Gi of 64Gi (three quarters of memory).
    let mut big_memory = run(0);
    big_memory.driver.pod_memory = sparkplane_api::MemorySize::from_mib(48 * 1024);
    let queue = SharedQueue {
        pool: pool(12),
        admitted: vec![
            Held { namespace: "team-a".into(), demand: run(2) },
            Held { namespace: "team-b".into(), demand: big_memory },
        ],
        candidates: vec![candidate("team-b", "b1", 0, 1, 1), candidate("team-a", "a1", 0, 2, 1)],
        tenants: weights(1, 1),
    };
    assert_eq!(first(&queue), "team-a/a1", "0.25 of the CPUs against 0.75 of the memory");
    // Weighted 1:4, team-b's 0.75 counts as 0.1875: it goes first.
    let weighted = SharedQueue { tenants: weights(1, 4), ..queue.clone() };
    assert_eq!(first(&weighted), "team-b/b1");
}

/// Two tenants weighted 2:1, each always with a run waiting, on a pool
/// that holds one run at a time: over 30 admissions, 20 and 10.
#[test]
fn weights_of_two_to_one_give_two_admissions_to_one() {
    let mut history = History::default();
    let mut next = BTreeMap::from([("team-a", 0), ("team-b", 0)]);
    let mut admitted = Vec::new();
    for step in 0..30i64 {
        let now = at(step * 5);
        let tenants = BTreeMap::from([
            ("team-a".to_owned(), Standing { weight: 2, history: history.at("team-a", now) }),
            ("team-b".to_owned(), Standing { weight: 1, history: history.at("team-b", now) }),
        ]);
        // Each tenant's next run was queued at the start, a before b.
        let candidates =
            next.iter().map(|(ns, i)| candidate(ns, &format!("j{i:02}"), 0, i64::from(*ns == "team-b"), 1)).collect();
        let queue = SharedQueue { pool: pool(2), admitted: vec![], candidates, tenants };
        let winner = order(&queue)[0].clone();
        assert_eq!(admission(&queue, &winner.namespace, &winner.waiting.name, &winner.demand), Admission::Admit);
        history.charge(&winner.namespace, dominant_share(&queue.pool, &needs(&winner.demand)), now);
        *next.get_mut(winner.namespace.as_str()).expect("tenant") += 1;
        admitted.push(winner.namespace);
    }
    let a = admitted.iter().filter(|ns| *ns == "team-a").count();
    assert_eq!((a, 30 - a), (20, 10), "{admitted:?}");
    // Weighted 1:1 they alternate.
    let mut history = History::default();
    let mut counts = BTreeMap::from([("team-a".to_owned(), 0), ("team-b".to_owned(), 0)]);
    for step in 0..30i64 {
        let now = at(step * 5);
        let tenants = ["team-a", "team-b"]
            .into_iter()
            .map(|ns| (ns.to_owned(), Standing { weight: 1, history: history.at(ns, now) }))
            .collect();
        let candidates = vec![candidate("team-a", "a", 0, 0, 1), candidate("team-b", "b", 0, 1, 1)];
        let queue = SharedQueue { pool: pool(2), admitted: vec![], candidates, tenants };
        let winner = order(&queue)[0].namespace.clone();
        history.charge(&winner, 1.0, now);
        *counts.get_mut(&winner).expect("tenant") += 1;
    }
    assert_eq!(counts.into_values().collect::<Vec<_>>(), [15, 15]);
}

#[test]
fn a_run_larger_than_the_whole_pool_waits_as_too_small_and_holds_back_nothing() {
    let queue = SharedQueue {
        pool: pool(4),
        admitted: vec![],
        candidates: vec![candidate("team-a", "huge", 100, 0, 7), candidate("team-b", "small", 0, 5, 1)],
        tenants: BTreeMap::new(),
    };
    assert_eq!(
        admission(&queue, "team-a", "huge", &run(7)),
        Admission::Waiting {
            reason: POOL_TOO_SMALL.into(),
            message: "the driver and its first executors need 8 cpu (it holds 4 in all) but the shared pool (the nodes' allocatable) is smaller; it waits for the pool to grow and holds back no other application".into()
        }
    );
    assert_eq!(first(&queue), "team-b/small", "the huge run is out of the order");
    assert_eq!(admission(&queue, "team-b", "small", &run(1)), Admission::Admit);
}

/// No backfill: the first in order that does not fit yet holds back a
/// smaller run behind it, whatever that run's size or priority.
#[test]
fn a_smaller_run_does_not_pass_the_first_one_waiting_for_room() {
    let queue = SharedQueue {
        pool: pool(6),
        admitted: vec![Held { namespace: "team-c".into(), demand: run(2) }],
        candidates: vec![candidate("team-a", "big", 10, 0, 4), candidate("team-b", "small", 0, 5, 0)],
        tenants: BTreeMap::new(),
    };
    assert!(
        matches!(admission(&queue, "team-a", "big", &run(4)), Admission::Waiting { reason, message }
            if reason == POOL_WAIT && message.ends_with("cpu needs 5, 3 free")),
        "3 CPUs free of 6"
    );
    assert!(
        matches!(admission(&queue, "team-b", "small", &run(0)), Admission::Waiting { reason, message }
            if reason == POOL_WAIT && message.ends_with("next is team-a/big")),
        "1 CPU would fit, but the big run goes first"
    );
}

#[test]
fn a_tenants_history_halves_every_half_life_and_adds_up() {
    let mut history = History::default();
    assert!(history.at("team-a", at(0)).abs() < f64::EPSILON);
    history.charge("team-a", 1.0, at(0));
    let half = i64::try_from(HALF_LIFE.as_secs()).expect("seconds");
    assert!((history.at("team-a", at(half)) - 0.5).abs() < 1e-9);
    assert!((history.at("team-a", at(2 * half)) - 0.25).abs() < 1e-9);
    history.charge("team-a", 1.0, at(half));
    assert!((history.at("team-a", at(half)) - 1.5).abs() < 1e-9);
    assert!(history.at("team-b", at(half)).abs() < f64::EPSILON, "one tenant's history is its own");
}

#[test]
fn a_pools_capacity_reads_as_the_flag_gives_it_and_bad_text_is_refused() {
    let capacity = parse_capacity("cpu=16, memory=64Gi,pods=110,nvidia.com/gpu=2").expect("capacity");
    assert_eq!(capacity["cpu"], 16_000);
    assert_eq!(capacity["memory"], 64 * 1024 * 1024 * 1024 * 1000);
    assert_eq!(capacity["pods"], 110_000);
    assert_eq!(capacity["nvidia.com/gpu"], 2000);
    assert_eq!(parse_capacity("cpu=1500m").expect("millis")["cpu"], 1500);
    for (bad, error) in [
        ("", "no resource given"),
        ("cpu", "`cpu` is not resource=amount"),
        ("cpu=lots", "cpu: `lots` is not a quantity"),
        ("=4", "`` is not a resource name"),
        ("cpu=4,cpu=8", "cpu is given twice"),
    ] {
        let found = parse_capacity(bad).expect_err(bad);
        assert!(found.starts_with(error), "{bad}: {found}");
    }
    // Amounts shown as a person writes them.
    assert_eq!(
        (show("cpu", 2000), show("cpu", 1500), show("memory", capacity["memory"])),
        ("2".into(), "1500m".into(), "65536Mi".into())
    );
}
