//! Keyset pagination: `?limit=` (default 20, at most 100) and an opaque `?cursor=` that encodes
//! the sort key of the last row served, so page N costs what page 1 costs (no OFFSET, no COUNT).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, AppError> {
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
}
