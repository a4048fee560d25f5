//! What a bid says, its canonical form and its receipt hash.
//! The receipt is the lowercase hex SHA-256 of the RFC 8785 canonical JSON of
//! `{project_id, round, organization_id, price, plan, team, kpis, matching_funds}`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::model::Bid;
use crate::crypto::Sealer;
use crate::domain::Money;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMember {
    #[schema(schema_with = crate::openapi::text_100)]
    pub name: String,
    #[schema(schema_with = crate::openapi::text_100)]
    pub role: String,
    /// Holds a social-work qualification (社会工作者职业资格).
    pub certified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Kpi {
    pub indicator: String,
    pub target: String,
}

/// The sealed part of a bid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidContents {
    pub project_id: String,
    pub round: i32,
    pub organization_id: String,
    pub price: Money,
    pub plan: String,
    pub team: Vec<TeamMember>,
    pub kpis: Vec<Kpi>,
    pub matching_funds: Option<Money>,
}

impl BidContents {
    pub fn canonical(&self) -> Vec<u8> {
        serde_json_canonicalizer::to_vec(self).expect("bid contents serialize")
    }

    pub fn receipt(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }
}

/// The context a bid is sealed under (the seal opens only for its own id).
pub fn seal_context(bid_id: &str) -> String {
    format!("bid:{bid_id}")
}

/// What a sealed bid row holds under its seal: the contents and the organization's credentials
/// frozen at submission, both unreadable in the database until the opening.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub contents: BidContents,
    /// The frozen credentials as stored JSON text (`None` in a row sealed before they were
    /// sealed too, which keeps them in its `credentials` column).
    pub credentials: Option<String>,
}

/// Seals a bid's contents and frozen credentials under its id.
pub fn seal(sealer: &Sealer, bid_id: &str, contents: &BidContents, credentials: &str) -> String {
    let envelope = Envelope {
        contents: contents.clone(),
        credentials: Some(credentials.to_owned()),
    };
    let plain = serde_json::to_vec(&envelope).expect("a bid envelope serializes");
    sealer.seal(&seal_context(bid_id), &plain)
}

/// The keyed hash that stands for (organization, project) in a bid row: it keeps one live bid
/// per organization and round unique, and finds the organization's own bids, without naming
/// the organization to anyone holding only the database.
pub fn bidder_key(sealer: &Sealer, organization_id: &str, project_id: &str) -> String {
    sealer.keyed_hash("bidder", &[organization_id, project_id])
}

/// Whether bid `b` is organization `org`'s: named in clear once opened, by its keyed hash
/// before.
pub fn is_bidders(sealer: &Sealer, b: &Bid, org: &str) -> bool {
    b.organization_id.as_deref() == Some(org)
        || b.bidder_key == bidder_key(sealer, org, &b.project_id)
}

/// Opens a bid's seal (the server holds the key): its contents and frozen credentials; the
/// opened contents of an opened bid; `None` for a withdrawn one.
pub fn open_envelope(sealer: &Sealer, b: &Bid) -> Result<Option<Envelope>, AppError> {
    if let Some(c) = &b.contents {
        return Ok(Some(Envelope {
            contents: crate::error::decode_json("bids.contents", c)?,
            credentials: b.credentials.clone(),
        }));
    }
    let Some(s) = &b.sealed else { return Ok(None) };
    let plain = sealer
        .open(&seal_context(&b.id), s)
        .map_err(AppError::internal)?;
    if let Ok(e) = serde_json::from_slice::<Envelope>(&plain) {
        return Ok(Some(e));
    }
    // Sealed before the credentials were sealed with the contents.
    Ok(Some(Envelope {
        contents: serde_json::from_slice(&plain).map_err(AppError::internal)?,
        credentials: b.credentials.clone(),
    }))
}

/// A bid's contents for a reader who may read them.
pub fn unseal(sealer: &Sealer, b: &Bid) -> Result<Option<BidContents>, AppError> {
    Ok(open_envelope(sealer, b)?.map(|e| e.contents))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receipt_is_the_hash_of_the_canonical_json() {
        let c = BidContents {
            project_id: "p".into(),
            round: 1,
            organization_id: "o".into(),
            price: Money::from_fen(29_000_000),
            plan: "方案".into(),
            team: vec![TeamMember {
                name: "张三".into(),
                role: "督导".into(),
                certified: true,
            }],
            kpis: vec![],
            matching_funds: None,
        };
        let text = String::from_utf8(c.canonical()).unwrap();
        assert_eq!(
            text,
            r#"{"kpis":[],"matching_funds":null,"organization_id":"o","plan":"方案","price":"290000.00","project_id":"p","round":1,"team":[{"certified":true,"name":"张三","role":"督导"}]}"#
        );
        assert_eq!(c.receipt(), hex::encode(Sha256::digest(text.as_bytes())));
    }
}
