//! `gongyi verify-draw <project_id> --base-url …`: recomputes a project's expert panel from
//! public API data alone (the opening: seed, receipts, eligible experts) and says whether the
//! panel the server drew matches. Talks plain HTTP; anything else needs a TLS-terminating proxy.

use std::collections::BTreeSet;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::draw;

/// The verdict, printed by the CLI.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verdict {
    pub project_id: String,
    pub seed_matches_commitment: bool,
    pub receipts_match_opening: bool,
    pub recomputed_order: Vec<String>,
    pub server_order: Vec<String>,
    pub matches: bool,
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> anyhow::Result<Value> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        anyhow::bail!(
            "GET {url}: {status} {}",
            body["detail"].as_str().unwrap_or("")
        );
    }
    Ok(body)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The receipts of the bids an opening published.
fn opened_receipts(opening: &Value) -> BTreeSet<String> {
    opening["bids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["sha256"].as_str().map(str::to_owned))
        .collect()
}

pub async fn verify(
    base_url: &str,
    project_id: &str,
    token: Option<&str>,
) -> anyhow::Result<Verdict> {
    let client = reqwest::Client::builder().build()?;
    let base = base_url.trim_end_matches('/');
    let opening = get(
        &client,
        &format!("{base}/api/v1/projects/{project_id}/opening"),
        None,
    )
    .await?;
    let seed_hex = opening["seed"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("the opening publishes no seed"))?;
    let seed = hex::decode(seed_hex)?;
    let commitment = opening["seed_commitment"].as_str().unwrap_or("");
    let d = &opening["draw"];
    if d.is_null() {
        anyhow::bail!("no panel was drawn for this round");
    }
    let receipts = strings(&d["receipts"]);
    let eligible = strings(&d["eligible_ids"]);
    let size = d["size"].as_u64().unwrap_or(0) as usize;
    let opened = opened_receipts(&opening);
    let recomputed = draw::shuffle(
        &eligible,
        draw::draw_seed(&seed, &draw::receipts_root(&receipts)),
    );
    let recomputed: Vec<String> = recomputed.into_iter().take(size * 2).collect();
    let panel = get(
        &client,
        &format!("{base}/api/v1/projects/{project_id}/panel"),
        token,
    )
    .await?;
    let mut seats: Vec<(i64, String)> = panel["members"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(panel["alternates"].as_array().into_iter().flatten())
        .filter_map(|m| Some((m["position"].as_i64()?, m["expert_id"].as_str()?.to_owned())))
        .collect();
    seats.sort();
    let server: Vec<String> = seats.into_iter().map(|(_, id)| id).collect();
    let seed_ok = hex::encode(Sha256::digest(&seed)) == commitment;
    let receipts_ok = receipts.iter().cloned().collect::<BTreeSet<_>>() == opened;
    Ok(Verdict {
        project_id: project_id.to_owned(),
        seed_matches_commitment: seed_ok,
        receipts_match_opening: receipts_ok,
        matches: seed_ok && receipts_ok && !server.is_empty() && server == recomputed,
        recomputed_order: recomputed,
        server_order: server,
    })
}

/// Recomputes a review's panel (`--review`): its server seed is `review:{id}` (public from the
/// start), its receipts must be among the project's opened bids, and the seats in order must
/// be the shuffle of its eligible experts. Reading a review needs a token (bureau, the
/// organization, or a panel member).
pub async fn verify_review(
    base_url: &str,
    review_id: &str,
    token: Option<&str>,
) -> anyhow::Result<Verdict> {
    let client = reqwest::Client::builder().build()?;
    let base = base_url.trim_end_matches('/');
    let r = get(
        &client,
        &format!("{base}/api/v1/reviews/{review_id}"),
        token,
    )
    .await?;
    let d = &r["draw"];
    if d.is_null() {
        anyhow::bail!("the review is not open yet: no panel was drawn");
    }
    let seed = d["seed"].as_str().unwrap_or("").to_owned();
    let receipts = strings(&d["receipts"]);
    let eligible = strings(&d["eligible_ids"]);
    let size = d["size"].as_u64().unwrap_or(0) as usize;
    let project_id = r["project_id"].as_str().unwrap_or("");
    let opening = get(
        &client,
        &format!("{base}/api/v1/projects/{project_id}/opening"),
        None,
    )
    .await?;
    let opened = opened_receipts(&opening);
    let recomputed: Vec<String> = draw::shuffle(
        &eligible,
        draw::draw_seed(seed.as_bytes(), &draw::receipts_root(&receipts)),
    )
    .into_iter()
    .take(size * 2)
    .collect();
    let server: Vec<String> = r["panel"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["expert_id"].as_str().map(str::to_owned))
        .collect();
    let seed_ok = seed == format!("review:{review_id}");
    let receipts_ok = !receipts.is_empty() && receipts.iter().all(|x| opened.contains(x));
    Ok(Verdict {
        project_id: project_id.to_owned(),
        seed_matches_commitment: seed_ok,
        receipts_match_opening: receipts_ok,
        matches: seed_ok && receipts_ok && !server.is_empty() && server == recomputed,
        recomputed_order: recomputed,
        server_order: server,
    })
}
