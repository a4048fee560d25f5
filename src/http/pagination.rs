//! Keyset pagination: `?limit=` (default 20, at most 100) and an opaque `?cursor=` that encodes
//! the sort key of the last row served, so page N costs what page 1 costs (no OFFSET, no COUNT).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::AppError;

pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// A page of items and the cursor of the next page, `null` on the last.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A validated limit and the decoded sort key after which the page starts.
#[derive(Debug, Clone)]
pub struct PageParams<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageParams<K> {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(c)?),
        };
        Ok(PageParams { limit, after })
    }

    /// The number of rows to fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, AppError> {
    let invalid = || AppError::field("cursor", "is not a cursor this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows, taking the cursor from the last row kept.
    pub fn from_rows<R, K: Serialize>(
        mut rows: Vec<R>,
        limit: i64,
        key: impl Fn(&R) -> K,
        map: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&key(r)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

/// The JSON body of a page, written straight into one buffer sized before the first byte and
/// handed to actix as it is (`Vec<u8>` becomes the body's `Bytes` without a copy).
///
/// A page of documents kept rendered ([`Rendered`](super::rendered::Rendered)) knows its exact
/// size. Any other page is sized from what a page of the same item type took per item before
/// (learned per type, a little to spare), so the buffer is not grown and copied over and over
/// as the items are written.
pub fn page_body<T: Serialize + 'static>(page: &Page<T>) -> Result<Vec<u8>, AppError> {
    let cursor = page.next_cursor.as_ref().map_or(4, |c| c.len() + 2);
    let frame = r#"{"items":[],"next_cursor":}"#.len() + cursor;
    let items = &page.items as &dyn Any;
    let exact = items
        .downcast_ref::<Vec<Arc<RawValue>>>()
        .map(|docs| docs.iter().map(|d| d.get().len() + 1).sum::<usize>());
    let kind = TypeId::of::<T>();
    let capacity = frame
        + exact.unwrap_or_else(|| page.items.len() * learned(kind).unwrap_or(FIRST_ITEM_GUESS));
    let mut buf = Vec::with_capacity(capacity);
    // Writing into memory fails only for a value that cannot be JSON (a map with non-string
    // keys): a bug, answered 500 as `HttpResponse::json` would.
    serde_json::to_writer(&mut buf, page).map_err(AppError::internal)?;
    if exact.is_none() && !page.items.is_empty() {
        learn(kind, buf.len().saturating_sub(frame) / page.items.len());
    }
    Ok(buf)
}

/// The first guess of an item's size for a type not yet seen, in bytes.
const FIRST_ITEM_GUESS: usize = 512;

fn hints() -> &'static RwLock<HashMap<TypeId, usize>> {
    static HINTS: OnceLock<RwLock<HashMap<TypeId, usize>>> = OnceLock::new();
    HINTS.get_or_init(Default::default)
}

fn learned(kind: TypeId) -> Option<usize> {
    hints()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&kind)
        .copied()
}

/// Remembers an item size seen, with an eighth to spare; only a change worth it takes the
/// write lock.
fn learn(kind: TypeId, per_item: usize) {
    let spare = per_item + per_item / 8 + 1;
    match learned(kind) {
        Some(known) if known >= spare && known <= spare * 2 => {}
        _ => {
            hints()
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(kind, spare);
        }
    }
}

impl<T: Serialize + 'static> Page<T> {
    /// The page as a `200 OK` JSON response ([`page_body`]); a page that cannot be written is
    /// the 500 problem of its error.
    pub fn respond(&self) -> HttpResponse {
        match page_body(self) {
            Ok(body) => HttpResponse::Ok()
                .content_type(ContentType::json())
                .body(body),
            Err(e) => actix_web::ResponseError::error_response(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_outside_bounds_names_the_field() {
        for bad in [0, -1, 101] {
            let err = PageParams::<String>::parse(Some(bad), None).unwrap_err();
            assert_eq!(err.errors[0].field, "limit");
        }
        assert_eq!(PageParams::<String>::parse(None, None).unwrap().limit, 20);
    }

    #[test]
    fn cursor_round_trips_and_garbage_is_refused() {
        let c = encode_cursor(&("b".to_string(), 7));
        let p = PageParams::<(String, i64)>::parse(Some(5), Some(&c)).unwrap();
        assert_eq!(p.after, Some(("b".to_string(), 7)));
        let err = PageParams::<(String, i64)>::parse(None, Some("%%%")).unwrap_err();
        assert_eq!(err.errors[0].field, "cursor");
    }

    #[test]
    fn page_keeps_limit_rows_and_points_past_the_last() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |r| *r, |r| r * 10);
        assert_eq!(page.items, vec![10, 20]);
        let after: i32 = decode_cursor(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(after, 2);
        let last = Page::from_rows(vec![1, 2], 2, |r| *r, |r| r);
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn a_page_of_rendered_documents_is_written_into_a_buffer_of_its_exact_size() {
        let docs: Vec<Arc<RawValue>> = (0..30)
            .map(|i| {
                RawValue::from_string(format!(r#"{{"id":"p{i}","title":"项目 {i}"}}"#))
                    .unwrap()
                    .into()
            })
            .collect();
        let page = Page {
            items: docs,
            next_cursor: Some(encode_cursor(&"p29")),
        };
        let body = page_body(&page).unwrap();
        assert_eq!(
            body,
            serde_json::to_vec(&page).unwrap(),
            "the same JSON as serde writes"
        );
        assert!(
            body.capacity() - body.len() <= 1,
            "sized up front: {} of {}",
            body.len(),
            body.capacity()
        );
        let empty: Page<Arc<RawValue>> = Page {
            items: vec![],
            next_cursor: None,
        };
        assert_eq!(
            page_body(&empty).unwrap(),
            br#"{"items":[],"next_cursor":null}"#
        );
    }

    #[test]
    fn a_page_of_other_items_is_sized_from_the_pages_before_it() {
        #[derive(Serialize)]
        struct Item {
            id: String,
            note: String,
        }
        let page = |n: usize| Page {
            items: (0..n)
                .map(|i| Item {
                    id: format!("i{i:04}"),
                    note: "x".repeat(300),
                })
                .collect(),
            next_cursor: None,
        };
        let first = page_body(&page(20)).unwrap();
        assert_eq!(first, serde_json::to_vec(&page(20)).unwrap());
        for n in [20, 100, 7] {
            let body = page_body(&page(n)).unwrap();
            assert_eq!(body, serde_json::to_vec(&page(n)).unwrap());
            assert!(body.capacity() >= body.len());
            assert!(
                body.capacity() <= body.len() + body.len() / 4 + 64,
                "{n} items: {} bytes in a buffer of {}: sized from the first page, never grown by doubling",
                body.len(),
                body.capacity()
            );
        }
    }

    #[test]
    fn a_page_that_cannot_be_json_is_a_500_problem_not_an_empty_page() {
        let bad: HashMap<(i32, i32), i32> = [((1, 2), 3)].into();
        let page = Page {
            items: vec![bad],
            next_cursor: None,
        };
        let r = page.respond();
        assert_eq!(r.status().as_u16(), 500);
        assert_eq!(
            r.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
    }
}
