//! The award notice (中标/成交结果公告): project, purchaser, winner and amount, the panel's
//! names and the objection deadline (政府采购法实施条例 art 43, 政府采购法 art 52).

use maud::{html, Markup};

use super::labels::award_status;
use super::page::{amount_both, cst, page, party_rows, time_note};
use super::NoticeDoc;

/// The award notice as a printable, self-contained HTML page.
pub fn notice_html(d: &NoticeDoc) -> String {
    let title = format!("中标（成交）结果公告 — {}", d.project_title);
    page(
        &title,
        html! {
            h1 { "中标（成交）结果公告" }
            p class="subtitle" { (d.project_title) }
            div class="meta" {
                span { "公告编号：" (d.award_id) }
                span { "发布时间：" (cst(d.created_at)) }
                span { "状态：" (award_status(&d.status)) }
            }
            (revocation(d))
            h2 { "一、项目信息" }
            table {
                tbody {
                    tr { th scope="row" { "项目名称" } td { (d.project_title) } }
                    tr { th scope="row" { "项目编号" } td { (d.project_id) } }
                    (party_rows("采购人", &d.purchaser))
                }
            }
            h2 { "二、中标（成交）信息" }
            table {
                tbody {
                    (party_rows("中标（成交）供应商", &d.winner))
                    tr { th scope="row" { "中标（成交）金额" } td { (amount_both(d.amount)) } }
                    @if let Some(why) = &d.justification {
                        tr { th scope="row" { "确定理由" } td { (why) } }
                    }
                }
            }
            h2 { "三、评审专家名单" }
            (panel(d))
            h2 { "四、质疑" }
            // 政府采购法 art 52: a supplier may object in writing within the window.
            p {
                "供应商认为中标（成交）结果使自己的权益受到损害的，可以在"
                strong { (cst(d.objection_deadline)) }
                "前，以书面形式向采购人提出质疑（《中华人民共和国政府采购法》第五十二条）。"
            }
            div class="footer" {
                p class="note" { "采购人：" (d.purchaser.name) }
                (time_note())
            }
        },
    )
}

/// A revoked award says so first.
fn revocation(d: &NoticeDoc) -> Markup {
    if d.status != "revoked" {
        return html! {};
    }
    html! {
        div class="banner" role="alert" {
            strong { "本中标（成交）结果已撤销" }
            p { "因质疑成立，本公告所列中标（成交）结果不再有效。" }
        }
    }
}

/// The panel's names are part of the notice (政府采购法实施条例 art 43).
fn panel(d: &NoticeDoc) -> Markup {
    if d.panel.is_empty() {
        return html! { p class="muted" { "—" } };
    }
    html! { p { (d.panel.join("、")) } }
}
