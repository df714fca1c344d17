//! List pagination as the API server does it: `limit` cuts a list into
//! pages and `continue` carries on after the last item sent, from the same
//! snapshot the first page was read at (its resourceVersion). A token whose
//! snapshot is gone — its resource version compacted away, as etcd's
//! compaction does after about five minutes — answers 410 Expired with the
//! API server's message and an inconsistent continue token that lists the
//! rest from the current state.
//!
//! Owns: continue tokens and the snapshots behind them. Must not: select
//! objects (the store's `matching` does) or change any.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::answer::{Answer, status};

/// Open snapshots kept at most; the oldest beyond go (their tokens then answer 410).
const MAX_SNAPSHOTS: usize = 64;

/// The API server's message for an expired continue token.
pub const EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. \
You can start a new list without the continue parameter, or use the continue token in this response to \
retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - \
objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// The lists paged so far that have pages left, by the request they answer
/// and the resource version they were read at.
#[derive(Debug, Default)]
pub struct Snapshots {
    open: BTreeMap<(String, u64), Vec<Value>>,
    order: Vec<(String, u64)>,
}

/// What a paged list request asks for.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// `limit` (0 or absent: everything).
    pub limit: Option<usize>,
    /// `continue`, as the last page gave it.
    pub token: Option<String>,
    /// The request's path and selectors: a token only continues the list it came from.
    pub request: String,
    /// No label or field selector: the answer says how many items remain.
    pub unfiltered: bool,
}

/// A continue token's content (base64url JSON, as the API server's).
fn token(rv: i64, start: &str) -> String {
    let text = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{start}\u{0}")}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn read_token(text: &str) -> Option<(i64, String)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    if value["v"] != "meta.k8s.io/v1" {
        return None;
    }
    let start = value["start"].as_str()?.trim_end_matches('\u{0}').to_owned();
    Some((value["rv"].as_i64()?, start))
}

/// Where an item sorts in a list: namespace, then name.
fn position(item: &Value) -> String {
    let meta = &item["metadata"];
    match meta["namespace"].as_str() {
        Some(ns) => format!("{ns}/{}", meta["name"].as_str().unwrap_or_default()),
        None => meta["name"].as_str().unwrap_or_default().to_owned(),
    }
}

fn after(items: Vec<Value>, start: &str) -> Vec<Value> {
    items.into_iter().filter(|item| position(item).as_str() > start).collect()
}

impl Snapshots {
    fn keep(&mut self, key: (String, u64), items: Vec<Value>) {
        self.order.retain(|k| *k != key);
        self.order.push(key.clone());
        self.open.insert(key, items);
        while self.order.len() > MAX_SNAPSHOTS {
            let oldest = self.order.remove(0);
            self.open.remove(&oldest);
        }
    }

    fn forget(&mut self, key: &(String, u64)) {
        self.order.retain(|k| k != key);
        self.open.remove(key);
    }

    /// Forgets the snapshots read at or before `rv` (compacted away; a list
    /// read after the compaction keeps its snapshot).
    pub fn compact(&mut self, rv: u64) {
        self.order.retain(|(_, at)| *at > rv);
        self.open.retain(|(_, at), _| *at > rv);
    }

    /// One page of a list. `current` is every matching item now (sorted),
    /// `rv` the resource version now. Answers the page's items, its resource version, the next
    /// token and how many remain — or the 400/410 Status to send.
    pub fn page(&mut self, page: &Page, current: Vec<Value>, rv: u64) -> Result<Paged, Answer> {
        let (items, at) = match &page.token {
            None => (current, rv),
            Some(text) => {
                let Some((token_rv, start)) = read_token(text) else {
                    return Err(status(400, "BadRequest", format!("continue key is not valid: {text}"), json!({})));
                };
                if token_rv < 0 {
                    // An inconsistent token from a 410: the rest as it is now.
                    (after(current, &start), rv)
                } else {
                    let at = token_rv as u64;
                    let key = (page.request.clone(), at);
                    match self.open.get(&key) {
                        Some(items) => (after(items.clone(), &start), at),
                        None => {
                            self.forget(&key);
                            let rest = after(current, &start);
                            let mut gone = status(410, "Expired", EXPIRED.into(), json!({}));
                            if !rest.is_empty()
                                && let Answer::Json(_, body) = &mut gone
                            {
                                body["metadata"] = json!({"continue": token(-1, &start)});
                            }
                            return Err(gone);
                        }
                    }
                }
            }
        };
        let key = (page.request.clone(), at);
        let limit = page.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        if items.len() <= limit {
            self.forget(&key);
            return Ok(Paged { items, rv: at, next: None, remaining: None });
        }
        let rest = items.len() - limit;
        let mut items = items;
        let snapshot = items.clone();
        items.truncate(limit);
        let last = items.last().map(position).unwrap_or_default();
        if page.token.is_none() || !self.open.contains_key(&key) {
            self.keep(key, snapshot);
        }
        Ok(Paged { items, rv: at, next: Some(token(at as i64, &last)), remaining: page.unfiltered.then_some(rest) })
    }
}

/// One page of a list.
#[derive(Debug)]
pub struct Paged {
    /// The page's items.
    pub items: Vec<Value>,
    /// The resource version the list was read at.
    pub rv: u64,
    /// The token for the next page, when there is one.
    pub next: Option<String>,
    /// How many items follow this page (unfiltered lists only).
    pub remaining: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(names: &[&str]) -> Vec<Value> {
        names.iter().map(|n| json!({"metadata": {"name": n, "namespace": "ns"}})).collect()
    }

    fn names(paged: &Paged) -> Vec<&str> {
        paged.items.iter().map(|i| i["metadata"]["name"].as_str().unwrap_or_default()).collect()
    }

    #[test]
    fn pages_come_from_the_first_pages_snapshot_until_it_is_compacted() {
        let mut snapshots = Snapshots::default();
        let page = |token: Option<String>| Page { limit: Some(2), token, request: "pods".into(), unfiltered: true };
        let first = snapshots.page(&page(None), items(&["a", "b", "c", "d", "e"]), 10).expect("first page");
        assert_eq!((names(&first), first.rv, first.remaining), (vec!["a", "b"], 10, Some(3)));
        // "c" went and "bb" came since: the second page still shows the list at 10.
        let second = snapshots.page(&page(first.next.clone()), items(&["a", "b", "bb", "d", "e"]), 12).expect("second");
        assert_eq!((names(&second), second.rv, second.remaining), (vec!["c", "d"], 10, Some(1)));
        let third = snapshots.page(&page(second.next.clone()), items(&["a"]), 13).expect("third");
        assert_eq!((names(&third), third.next.is_none()), (vec!["e"], true));

        let first = snapshots.page(&page(None), items(&["a", "b", "c"]), 20).expect("first page");
        snapshots.compact(25);
        let Err(Answer::Json(code, gone)) = snapshots.page(&page(first.next), items(&["a", "b", "c", "d"]), 30) else {
            panic!("an expired token answers 410");
        };
        assert_eq!((code, gone["reason"].as_str(), gone["message"].as_str()), (410, Some("Expired"), Some(EXPIRED)));
        let inconsistent = gone["metadata"]["continue"].as_str().map(str::to_owned);
        let rest = snapshots.page(&page(inconsistent), items(&["a", "b", "c", "d"]), 30).expect("the rest");
        assert_eq!(names(&rest), vec!["c", "d"]);

        let Err(Answer::Json(code, _)) = snapshots.page(&page(Some("???".into())), items(&["a"]), 30) else {
            panic!("a malformed token answers 400");
        };
        assert_eq!(code, 400);
    }
}
