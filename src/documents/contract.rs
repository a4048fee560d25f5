//! The contract document (政府购买服务合同): parties, service, amount in figures and capitals,
//! amendments, KPIs, the tranche schedule and both signatures.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use super::labels::{contract_status, tranche_condition, tranche_status};
use super::page::{amount_both, cst, date_cn, money, page, party_rows, time_note};
use super::{ContractDoc, Party};
use crate::domain::Money;

/// The contract as a printable, self-contained HTML page.
pub fn contract_html(d: &ContractDoc) -> String {
    let title = format!("政府购买服务合同 — {}", d.project_title);
    page(
        &title,
        html! {
            h1 { "政府购买服务合同" }
            p class="subtitle" { (d.project_title) }
            div class="meta" {
                span { "合同编号：" (d.contract_id) }
                span { "项目编号：" (d.project_id) }
                span { "合同状态：" (contract_status(&d.status)) }
            }
            (termination(d))
            h2 { "一、合同双方" }
            table {
                tbody {
                    (party_rows("甲方（购买主体）", &d.purchaser))
                    (party_rows("乙方（承接主体）", &d.supplier))
                }
            }
            p {
                "甲乙双方依据《中华人民共和国政府采购法》《政府购买服务管理办法》等规定，"
                "就下列服务项目订立本合同，共同遵守。"
            }
            h2 { "二、服务项目与服务期限" }
            table {
                tbody {
                    tr { th scope="row" { "项目名称" } td { (d.project_title) } }
                    tr { th scope="row" { "项目编号" } td { (d.project_id) } }
                    tr {
                        th scope="row" { "服务期限" }
                        td { "自" (date_cn(d.service_start)) "起至" (date_cn(d.service_end)) "止" }
                    }
                }
            }
            h2 { "三、合同金额" }
            (amount(d))
            h2 { "四、绩效目标" }
            (kpis(d))
            h2 { "五、资金拨付安排" }
            (tranches(d))
            h2 { "六、合同签署" }
            (signatures(d))
            div class="footer" {
                p class="note" { "合同文本生成时间：" (cst(d.created_at)) }
                (time_note())
            }
        },
    )
}

/// A terminated contract says so first, with its reason, before anything else is read.
fn termination(d: &ContractDoc) -> Markup {
    if d.status != "terminated" && d.termination_reason.is_none() {
        return html! {};
    }
    html! {
        div class="banner" role="alert" {
            strong { "本合同已终止" }
            p {
                "终止原因："
                @match &d.termination_reason {
                    Some(reason) => { (reason) }
                    None => { "未载明" }
                }
            }
            p class="note" { "未拨付的款项不再拨付。" }
        }
    }
}

/// The amount now, and when it was changed, the original amount and every change (补充合同).
fn amount(d: &ContractDoc) -> Markup {
    let amended = !d.amendments.is_empty() || d.original_amount != d.amount;
    html! {
        table {
            tbody {
                tr { th scope="row" { "合同金额" } td { (amount_both(d.amount)) } }
                @if amended {
                    tr { th scope="row" { "原合同金额" } td { (amount_both(d.original_amount)) } }
                }
            }
        }
        @if !d.amendments.is_empty() {
            h3 { "合同金额变更记录" }
            table {
                thead {
                    tr {
                        th { "序号" }
                        th class="num" { "变更前金额" }
                        th class="num" { "变更后金额" }
                        th { "变更原因" }
                        th { "变更时间" }
                    }
                }
                tbody {
                    @for (i, a) in d.amendments.iter().enumerate() {
                        tr {
                            td { (i + 1) }
                            td class="num" { (money(a.amount_before)) }
                            td class="num" { (money(a.amount_after)) }
                            td { (a.reason) }
                            td { (cst(a.at)) }
                        }
                    }
                }
            }
            // 政府采购法 art 49: a supplementary contract adds at most 10 % of the original.
            p class="note" {
                "依据《中华人民共和国政府采购法》第四十九条，补充合同的采购金额"
                "不超过原合同采购金额的百分之十。"
            }
        }
    }
}

fn kpis(d: &ContractDoc) -> Markup {
    if d.kpis.is_empty() {
        return html! { p class="muted" { "本合同未约定绩效指标。" } };
    }
    html! {
        table {
            thead { tr { th { "序号" } th { "绩效指标" } th { "目标值" } } }
            tbody {
                @for (i, k) in d.kpis.iter().enumerate() {
                    tr { td { (i + 1) } td { (k.indicator) } td { (k.target) } }
                }
            }
        }
    }
}

fn tranches(d: &ContractDoc) -> Markup {
    if d.tranches.is_empty() {
        return html! { p class="muted" { "本合同未约定拨付安排。" } };
    }
    let percent: i64 = d.tranches.iter().map(|t| i64::from(t.percent)).sum();
    let total = d
        .tranches
        .iter()
        .try_fold(Money::ZERO, |sum, t| sum.checked_add(t.amount));
    html! {
        table {
            thead {
                tr {
                    th { "期次" }
                    th { "拨付条件" }
                    th class="num" { "比例" }
                    th class="num" { "金额" }
                    th { "状态" }
                    th { "拨付时间" }
                }
            }
            tbody {
                @for t in &d.tranches {
                    tr {
                        td { "第" (t.seq) "期" }
                        td { (tranche_condition(&t.condition, t.date)) }
                        td class="num" { (t.percent) "%" }
                        td class="num" { (money(t.amount)) }
                        td { (tranche_status(&t.status)) }
                        td {
                            @match t.released_at {
                                Some(at) => { (cst(at)) }
                                None => { span class="muted" { "—" } }
                            }
                        }
                    }
                }
            }
            tfoot {
                tr {
                    td colspan="2" { "合计" }
                    td class="num" { (percent) "%" }
                    td class="num" {
                        @match total {
                            Some(m) => { (money(m)) }
                            None => { "—" }
                        }
                    }
                    td colspan="2" {}
                }
            }
        }
        p class="note" {
            "各期金额按比例向下取整至分，末期取余数，各期合计等于合同金额。"
        }
    }
}

fn signatures(d: &ContractDoc) -> Markup {
    html! {
        div class="signatures" {
            (signature("甲方（购买主体）", &d.purchaser, d.signed_by_bureau_at))
            (signature("乙方（承接主体）", &d.supplier, d.signed_by_org_at))
        }
        // 政府采购法 art 46: signed within 30 days of the award notice.
        p {
            "签署期限：双方应于" (cst(d.sign_deadline)) "前签署本合同"
            "（自中标、成交通知书发出之日起三十日内，《中华人民共和国政府采购法》第四十六条）。"
        }
    }
}

fn signature(role: &str, party: &Party, at: Option<DateTime<Utc>>) -> Markup {
    html! {
        div class="signature" {
            p { strong { (role) } }
            p { (party.name) }
            div class="seal" { "（盖章）" }
            p {
                "签署时间（北京时间，UTC+8）："
                br;
                @match at {
                    Some(t) => { (cst(t)) }
                    None => { strong { "未签署" } }
                }
            }
        }
    }
}
