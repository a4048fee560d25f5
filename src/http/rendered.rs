//! Response documents kept as rendered JSON, keyed by a row's id and version.
//!
//! Every change to a row bumps its version (optimistic locking), so a document rendered for
//! `(id, version)` is the document of that row for as long as the row stays at that version,
//! whichever process changed it. A listing reads the rows as usual and renders only the ones
//! whose version it has not seen; the rest are copied out as they are.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::error::AppError;

/// Beyond this many documents the cache starts over rather than grow.
const MAX_ENTRIES: usize = 20_000;

#[derive(Default)]
pub struct Rendered {
    docs: Mutex<HashMap<String, (i64, Arc<RawValue>)>>,
}

impl Rendered {
    /// The document of row `id` at `version`, rendering it with `render` when not yet known.
    pub fn get_or_render<T, F>(
        &self,
        id: &str,
        version: i64,
        render: F,
    ) -> Result<Arc<RawValue>, AppError>
    where
        T: Serialize,
        F: FnOnce() -> Result<T, AppError>,
    {
        if let Some(doc) = self.get(id, version) {
            return Ok(doc);
        }
        let text = serde_json::to_string(&render()?).map_err(AppError::internal)?;
        let doc: Arc<RawValue> = RawValue::from_string(text)
            .map_err(AppError::internal)?
            .into();
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        if docs.len() >= MAX_ENTRIES {
            docs.clear();
        }
        // A slower reader of an older version never replaces a newer document.
        match docs.get(id) {
            Some((known, _)) if *known > version => {}
            _ => {
                docs.insert(id.to_owned(), (version, doc.clone()));
            }
        }
        Ok(doc)
    }

    /// The documents of a page read as keys only (each naming a row's id and version), when
    /// every one is rendered at that version; `None` when any is not (read the rows then, and
    /// [`render_all`](Self::render_all) them).
    pub fn all<K>(
        &self,
        keys: Vec<K>,
        id_version: impl Fn(&K) -> (&str, i64),
    ) -> Option<Vec<(K, Arc<RawValue>)>> {
        keys.into_iter()
            .map(|k| {
                let (id, version) = id_version(&k);
                let doc = self.get(id, version)?;
                Some((k, doc))
            })
            .collect()
    }

    /// The documents of a page's rows, each with its key: found, or rendered with `render`.
    pub fn render_all<R, K, T>(
        &self,
        rows: Vec<R>,
        key: impl Fn(&R) -> K,
        id_version: impl Fn(&K) -> (&str, i64),
        mut render: impl FnMut(R) -> Result<T, AppError>,
    ) -> Result<Vec<(K, Arc<RawValue>)>, AppError>
    where
        T: Serialize,
    {
        let mut docs = Vec::with_capacity(rows.len());
        for row in rows {
            let k = key(&row);
            let (id, version) = id_version(&k);
            let doc = self.get_or_render(id, version, || render(row))?;
            docs.push((k, doc));
        }
        Ok(docs)
    }

    /// The document of row `id` at `version`, if rendered.
    pub fn get(&self, id: &str, version: i64) -> Option<Arc<RawValue>> {
        let docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        docs.get(id)
            .filter(|(known, _)| *known == version)
            .map(|(_, doc)| doc.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_is_rendered_once_per_version() {
        let cache = Rendered::default();
        let mut renders = 0;
        let mut render = |v: i64| {
            cache
                .get_or_render("p1", v, || {
                    renders += 1;
                    Ok(json!({"version": v}))
                })
                .unwrap()
                .get()
                .to_owned()
        };
        assert_eq!(render(1), r#"{"version":1}"#);
        assert_eq!(render(1), r#"{"version":1}"#);
        assert_eq!(render(2), r#"{"version":2}"#);
        assert_eq!(renders, 2);
    }

    #[test]
    fn an_older_version_never_replaces_a_newer_one() {
        let cache = Rendered::default();
        cache
            .get_or_render("p1", 3, || Ok(json!({"v": 3})))
            .unwrap();
        let old = cache
            .get_or_render("p1", 2, || Ok(json!({"v": 2})))
            .unwrap();
        assert_eq!(
            old.get(),
            r#"{"v":2}"#,
            "the reader of version 2 gets version 2"
        );
        assert_eq!(cache.get("p1", 3).unwrap().get(), r#"{"v":3}"#);
        assert!(cache.get("p1", 2).is_none());
    }

    #[test]
    fn a_page_is_known_only_when_every_row_is_rendered_at_its_version() {
        let cache = Rendered::default();
        fn key(k: &(String, i64)) -> (&str, i64) {
            (k.0.as_str(), k.1)
        }
        let rows = vec![("a".to_string(), 1), ("b".to_string(), 1)];
        let docs = cache
            .render_all(rows.clone(), |r| r.clone(), key, |r| Ok(json!({"id": r.0})))
            .unwrap();
        assert_eq!(docs[1].1.get(), r#"{"id":"b"}"#);
        assert_eq!(cache.all(rows, key).unwrap().len(), 2);
        let moved = vec![("a".to_string(), 1), ("b".to_string(), 2)];
        assert!(cache.all(moved, key).is_none(), "b moved on: read the rows");
    }

    #[test]
    fn a_failed_render_is_reported_and_not_kept() {
        let cache = Rendered::default();
        let e = cache
            .get_or_render::<serde_json::Value, _>("p1", 1, || Err(AppError::not_found("x")))
            .unwrap_err();
        assert_eq!(e.status.as_u16(), 404);
        assert!(cache.get("p1", 1).is_none());
    }
}
