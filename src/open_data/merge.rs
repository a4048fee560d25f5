//! The OCDS 1.1 merge (standard.open-contracting.org, "Merging"): a record's `compiledRelease`
//! from its releases, as the reference implementation (`ocdsmerge`, used by `ocdskit compile`)
//! makes it, which `scripts/check-ocds` compares against.
//!
//! Releases are taken in date order (ties in the order given). Each is flattened into paths:
//! objects by key, arrays of objects by each object's `id` (so an object with the same id in a
//! later release is updated, and a new id is added), any other array as one value. A later
//! value replaces an earlier one at the same path, a `null` removes it, an empty object or
//! array leaves it. A release's own `id`, `date` and `tag` are not merged (`omitWhenMerged`);
//! the compiled release has `tag: ["compiled"]`, `id: "{ocid}-{date}"` and the last date.
//! The release schema's `wholeListMerge` arrays (`additionalIdentifiers`,
//! `additionalClassifications`) are replaced whole too.

use indexmap::IndexMap;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    Key(String),
    /// An object of an array, by its `id` (as a string) or, without one, by a key of its own.
    Item(String),
}

type Path = Vec<Part>;

const WHOLE_LIST: [&str; 2] = ["additionalIdentifiers", "additionalClassifications"];

/// The compiled release of `releases` (of one ocid).
pub fn compile(ocid: &str, releases: &[Value]) -> Value {
    let mut ordered: Vec<&Value> = releases.iter().collect();
    // A stable sort: equal dates keep their order.
    ordered.sort_by(|a, b| date_of(a).cmp(date_of(b)));
    let mut flat: IndexMap<Path, Value> = IndexMap::new();
    let mut ids: IndexMap<Path, Value> = IndexMap::new();
    let mut unnamed = 0usize;
    let mut last_date = "";
    for r in &ordered {
        last_date = date_of(r);
        if let Value::Object(m) = r {
            for (k, v) in m {
                if matches!(k.as_str(), "id" | "date" | "tag") {
                    continue;
                }
                flatten(
                    &[Part::Key(k.clone())],
                    k,
                    v,
                    &mut flat,
                    &mut ids,
                    &mut unnamed,
                );
            }
        }
    }
    let mut out = Map::new();
    out.insert("tag".into(), Value::Array(vec!["compiled".into()]));
    out.insert("id".into(), format!("{ocid}-{last_date}").into());
    out.insert("date".into(), last_date.into());
    out.insert("ocid".into(), ocid.into());
    let tree = unflatten(&flat, &ids);
    if let Value::Object(m) = tree {
        for (k, v) in m {
            out.entry(k).or_insert(v);
        }
    }
    Value::Object(out)
}

fn date_of(r: &Value) -> &str {
    r.get("date").and_then(Value::as_str).unwrap_or("")
}

fn flatten(
    path: &[Part],
    key: &str,
    v: &Value,
    flat: &mut IndexMap<Path, Value>,
    ids: &mut IndexMap<Path, Value>,
    unnamed: &mut usize,
) {
    let whole = match v {
        Value::Object(_) => false,
        Value::Array(items) => WHOLE_LIST.contains(&key) || items.iter().any(|i| !i.is_object()),
        _ => true,
    };
    if whole {
        flat.insert(path.to_vec(), v.clone());
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let mut p = path.to_vec();
                p.push(Part::Key(k.clone()));
                flatten(&p, k, child, flat, ids, unnamed);
            }
        }
        Value::Array(items) => {
            for item in items {
                let (ident, original) = match item.get("id") {
                    Some(id) => (id_string(id), Some(id.clone())),
                    None => {
                        *unnamed += 1;
                        (format!("\u{0}unnamed-{unnamed}"), None)
                    }
                };
                let mut p = path.to_vec();
                p.push(Part::Item(ident));
                if let Some(id) = original {
                    ids.entry(p.clone()).or_insert(id);
                }
                if let Value::Object(m) = item {
                    for (k, child) in m {
                        let mut q = p.clone();
                        q.push(Part::Key(k.clone()));
                        flatten(&q, k, child, flat, ids, unnamed);
                    }
                }
            }
        }
        _ => {}
    }
}

/// An `id` as the merge compares it: a string as it is, a number as its decimal.
fn id_string(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A tree being rebuilt: objects keep their keys' first order, arrays their items' first order.
enum Node {
    Object(IndexMap<String, Node>),
    Array(IndexMap<String, Node>),
    Leaf(Value),
}

fn unflatten(flat: &IndexMap<Path, Value>, ids: &IndexMap<Path, Value>) -> Value {
    let mut root = Node::Object(IndexMap::new());
    for (path, v) in flat {
        let mut node = &mut root;
        for (i, part) in path.iter().enumerate() {
            let last = i + 1 == path.len();
            let next_is_item = path.get(i + 1).is_some_and(|p| matches!(p, Part::Item(_)));
            node = match (node, part) {
                (Node::Object(m), Part::Key(k)) => {
                    if last {
                        if !v.is_null() {
                            m.insert(k.clone(), Node::Leaf(v.clone()));
                        }
                        break;
                    }
                    m.entry(k.clone()).or_insert_with(|| {
                        if next_is_item {
                            Node::Array(IndexMap::new())
                        } else {
                            Node::Object(IndexMap::new())
                        }
                    })
                }
                (Node::Array(items), Part::Item(ident)) => {
                    items.entry(ident.clone()).or_insert_with(|| {
                        let mut m = IndexMap::new();
                        if let Some(id) = ids.get(&path[..=i]) {
                            m.insert("id".to_owned(), Node::Leaf(id.clone()));
                        }
                        Node::Object(m)
                    })
                }
                // A path that disagrees with an earlier release's shape: the later wins.
                (n, Part::Key(k)) => {
                    *n = Node::Object(IndexMap::new());
                    let Node::Object(m) = n else { unreachable!() };
                    if last {
                        if !v.is_null() {
                            m.insert(k.clone(), Node::Leaf(v.clone()));
                        }
                        break;
                    }
                    m.entry(k.clone())
                        .or_insert_with(|| Node::Object(IndexMap::new()))
                }
                (n, Part::Item(ident)) => {
                    *n = Node::Array(IndexMap::new());
                    let Node::Array(items) = n else {
                        unreachable!()
                    };
                    items
                        .entry(ident.clone())
                        .or_insert_with(|| Node::Object(IndexMap::new()))
                }
            };
        }
    }
    to_value(root)
}

fn to_value(n: Node) -> Value {
    match n {
        Node::Leaf(v) => v,
        Node::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, to_value(v))).collect()),
        Node::Array(items) => Value::Array(items.into_values().map(to_value).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_releases_update_by_id_and_replace_whole_lists() {
        let releases = vec![
            json!({"ocid": "o", "id": "1", "date": "2026-01-01T00:00:00Z", "tag": ["tender"],
                   "parties": [{"id": "a", "name": "A", "roles": ["buyer", "payer"]}],
                   "tender": {"id": "t", "status": "active", "value": {"amount": 10.5, "currency": "CNY"}}}),
            json!({"ocid": "o", "id": "2", "date": "2026-01-02T00:00:00Z", "tag": ["award"],
                   "parties": [{"id": "a", "roles": ["buyer"]}, {"id": "b", "name": "B", "roles": ["supplier"]}],
                   "tender": {"status": "complete", "description": null},
                   "awards": [{"id": "w", "status": "pending"}]}),
            json!({"ocid": "o", "id": "3", "date": "2026-01-03T00:00:00Z", "tag": ["awardUpdate"],
                   "awards": [{"id": "w", "status": "active"}], "planning": {}}),
        ];
        let c = compile("o", &releases);
        assert_eq!(
            c,
            json!({
                "tag": ["compiled"], "id": "o-2026-01-03T00:00:00Z", "date": "2026-01-03T00:00:00Z", "ocid": "o",
                "parties": [{"id": "a", "name": "A", "roles": ["buyer"]}, {"id": "b", "name": "B", "roles": ["supplier"]}],
                "tender": {"id": "t", "status": "complete", "value": {"amount": 10.5, "currency": "CNY"}},
                "awards": [{"id": "w", "status": "active"}],
            })
        );
    }

    #[test]
    fn releases_are_merged_in_date_order_whatever_order_they_come_in() {
        let a = json!({"ocid": "o", "id": "1", "date": "2026-01-02T00:00:00Z", "tender": {"status": "complete"}});
        let b = json!({"ocid": "o", "id": "2", "date": "2026-01-01T00:00:00Z", "tender": {"status": "active"}});
        assert_eq!(compile("o", &[a, b])["tender"]["status"], "complete");
    }

    #[test]
    fn items_without_an_id_are_kept_apart() {
        let a = json!({"date": "1", "tender": {"items": [{"description": "x"}]}});
        let b = json!({"date": "2", "tender": {"items": [{"description": "y"}]}});
        assert_eq!(
            compile("o", &[a, b])["tender"]["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
