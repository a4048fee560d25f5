//! The documents' own tests, and `write_samples`, which scripts/check-documents runs to render
//! sample pages for headless Chromium.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::page::figures;
use super::*;

fn m(s: &str) -> Money {
    Money::parse(s).expect("a sample amount")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

fn tranche(seq: i32, condition: &str, percent: i32, amount: &str, status: &str) -> TrancheLine {
    TrancheLine {
        seq,
        condition: condition.into(),
        date: None,
        percent,
        amount: m(amount),
        status: status.into(),
        released_at: None,
    }
}

/// An active contract, signed by both sides, amended from 300,000 to 320,000 after its first
/// tranche was paid (the unreleased part re-split 40 : 30 over the other two).
fn active_contract() -> ContractDoc {
    let mut first = tranche(1, "on_signing", 30, "90000.00", "released");
    first.released_at = Some(utc(2025, 3, 10, 1, 0));
    ContractDoc {
        contract_id: "0195a3c2-7b1e-7c4d-9a10-3f2b5c6d7e8f".into(),
        project_id: "0195a1f0-2c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
        project_title: "某某街道困境儿童关爱服务项目".into(),
        purchaser: Party {
            name: "某某区民政局".into(),
            credit_code: Some("11110105000012345Y".into()),
        },
        supplier: Party {
            name: "某某区阳光社会工作服务中心".into(),
            credit_code: Some("53110105MJ00123458".into()),
        },
        original_amount: m("300000.00"),
        amount: m("320000.00"),
        service_start: date(2025, 4, 1),
        service_end: date(2026, 3, 31),
        kpis: vec![
            Kpi {
                indicator: "服务困境儿童人数".into(),
                target: "不少于120人".into(),
            },
            Kpi {
                indicator: "入户探访频次".into(),
                target: "每户每月不少于1次".into(),
            },
            Kpi {
                indicator: "服务对象满意度".into(),
                target: "不低于90%".into(),
            },
        ],
        tranches: vec![
            first,
            tranche(2, "on_midterm_passed", 40, "131428.57", "pending"),
            tranche(3, "on_completion_passed", 30, "98571.43", "pending"),
        ],
        amendments: vec![AmendmentLine {
            amount_before: m("300000.00"),
            amount_after: m("320000.00"),
            reason: "服务对象增加20户，入户探访相应增加".into(),
            at: utc(2025, 6, 16, 8, 0),
        }],
        status: "active".into(),
        sign_deadline: utc(2025, 3, 31, 15, 59),
        signed_by_bureau_at: Some(utc(2025, 3, 5, 2, 30)),
        signed_by_org_at: Some(utc(2025, 3, 6, 7, 15)),
        termination_reason: None,
        created_at: utc(2025, 3, 1, 1, 0),
    }
}

/// A contract the bureau signed and then terminated because the organization never did.
fn terminated_contract() -> ContractDoc {
    let mut on_date = tranche(2, "on_date", 40, "120000.00", "cancelled");
    on_date.date = Some(date(2025, 9, 1));
    ContractDoc {
        amount: m("300000.00"),
        tranches: vec![
            tranche(1, "on_signing", 30, "90000.00", "cancelled"),
            on_date,
            tranche(3, "on_completion_passed", 30, "90000.00", "cancelled"),
        ],
        amendments: vec![],
        status: "terminated".into(),
        signed_by_org_at: None,
        termination_reason: Some("乙方逾期不签订合同，经书面催告后仍不签订".into()),
        ..active_contract()
    }
}

fn notice() -> NoticeDoc {
    NoticeDoc {
        award_id: "0195a0e1-5a6b-7c8d-9e0f-1a2b3c4d5e6f".into(),
        project_id: "0195a1f0-2c3d-7e4f-8a9b-0c1d2e3f4a5b".into(),
        project_title: "某某街道困境儿童关爱服务项目".into(),
        purchaser: Party {
            name: "某某区民政局".into(),
            credit_code: Some("11110105000012345Y".into()),
        },
        winner: Party {
            name: "某某区阳光社会工作服务中心".into(),
            credit_code: Some("53110105MJ00123458".into()),
        },
        amount: m("300000.00"),
        panel: vec!["张伟".into(), "李娜".into(), "王芳".into()],
        justification: Some("排名第一的供应商放弃中标".into()),
        objection_deadline: utc(2025, 2, 28, 15, 59),
        status: "pending_objections".into(),
        created_at: utc(2025, 2, 19, 2, 0),
    }
}

const MARKUP: &str = r#"<script>alert(1)</script> & "q""#;
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;";

#[test]
fn markup_in_every_text_field_of_a_contract_comes_out_escaped() {
    let mut d = terminated_contract();
    d.project_title = MARKUP.into();
    d.contract_id = MARKUP.into();
    d.purchaser.name = MARKUP.into();
    d.supplier.credit_code = Some(MARKUP.into());
    d.kpis[0].indicator = MARKUP.into();
    d.tranches[0].status = MARKUP.into();
    d.termination_reason = Some(MARKUP.into());

    let html = contract_html(&d);

    assert!(!html.contains("<script"), "{html}");
    assert_eq!(
        html.matches(ESCAPED).count(),
        10,
        "title x3, purchaser x2, the rest once"
    );
}

#[test]
fn markup_in_every_text_field_of_a_notice_comes_out_escaped() {
    let mut d = notice();
    d.project_title = MARKUP.into();
    d.winner.name = MARKUP.into();
    d.panel.push(MARKUP.into());
    d.justification = Some(MARKUP.into());

    let html = notice_html(&d);

    assert!(!html.contains("<script"), "{html}");
    assert_eq!(html.matches(ESCAPED).count(), 6, "title x3, the rest once");
}

#[test]
fn a_contract_shows_its_amounts_in_figures_and_in_capitals() {
    let html = contract_html(&active_contract());

    assert!(html.contains(r#"<data value="320000.00">¥320,000.00</data>"#));
    assert!(html.contains("人民币叁拾贰万元整"));
    assert!(html.contains("原合同金额"));
    assert!(html.contains("人民币叁拾万元整"));
    assert!(html.contains("服务对象增加20户"));
    assert!(html.contains(r#"<data value="131428.57">¥131,428.57</data>"#));
}

#[test]
fn an_unamended_contract_has_no_amendment_table() {
    let html = contract_html(&terminated_contract());

    assert!(!html.contains("原合同金额"));
    assert!(!html.contains("变更记录"));
}

#[test]
fn a_notice_shows_the_amount_the_panel_and_the_justification() {
    let html = notice_html(&notice());

    assert!(html.contains(r#"<data value="300000.00">¥300,000.00</data>"#));
    assert!(html.contains("人民币叁拾万元整"));
    assert!(html.contains("张伟、李娜、王芳"));
    assert!(html.contains("排名第一的供应商放弃中标"));
    assert!(html.contains("53110105MJ00123458"));
    assert!(html.contains("公示中"));
}

#[test]
fn documents_reference_nothing_outside_themselves() {
    for html in [
        contract_html(&active_contract()),
        contract_html(&terminated_contract()),
        notice_html(&notice()),
    ] {
        let lower = html.to_lowercase();
        for banned in [
            "http", "<script", "<link", "url(", "@import", "<img", "src=",
        ] {
            assert!(!lower.contains(banned), "{banned} in {html}");
        }
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(r#"<html lang="zh-CN">"#));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains("@page { size: A4; margin: 20mm; }"));
        assert!(html.contains("@media print"));
        assert!(html.contains("Noto Serif CJK SC"));
    }
}

#[test]
fn a_terminated_contract_shows_its_reason_before_the_parties() {
    let html = contract_html(&terminated_contract());

    let banner = html.find("本合同已终止").expect("the banner");
    let reason = html.find("乙方逾期不签订合同").expect("the reason");
    let parties = html.find("一、合同双方").unwrap();
    assert!(banner < reason && reason < parties);
    assert!(!contract_html(&active_contract()).contains("本合同已终止"));
}

#[test]
fn an_unsigned_side_shows_unsigned_and_a_signed_side_its_time_in_utc_plus_8() {
    let html = contract_html(&terminated_contract());

    // The bureau signed at 02:30 UTC, 10:30 in Beijing; the organization did not sign.
    assert!(html.contains(r#"<time datetime="2025-03-05T02:30:00Z">2025年3月5日 10:30</time>"#));
    assert_eq!(html.matches("未签署").count(), 1);
    assert!(html.contains("北京时间，UTC+8"));
    // The deadline, 23:59 in Beijing, is still 31 March there.
    assert!(html.contains("2025年3月31日 23:59"));
}

#[test]
fn a_time_late_in_the_utc_day_is_shown_on_the_next_day_in_beijing() {
    let mut d = notice();
    d.objection_deadline = utc(2025, 3, 31, 16, 30);

    assert!(notice_html(&d).contains("2025年4月1日 00:30"));
}

#[test]
fn tranche_conditions_and_statuses_read_as_chinese_words() {
    let active = contract_html(&active_contract());
    let terminated = contract_html(&terminated_contract());

    for words in [
        "合同签订后",
        "中期评估通过后",
        "结项评估通过后",
        "已拨付",
        "待条件成就",
    ] {
        assert!(active.contains(words), "{words}");
    }
    assert!(terminated.contains("于2025年9月1日"));
    assert!(terminated.contains("已取消"));
    assert!(!active.contains("on_signing") && !active.contains(">released<"));
}

#[test]
fn figures_group_thousands_and_keep_the_fen() {
    assert_eq!(figures(m("0.05")), "¥0.05");
    assert_eq!(figures(m("100.00")), "¥100.00");
    assert_eq!(figures(m("1000.00")), "¥1,000.00");
    assert_eq!(figures(m("1234567.89")), "¥1,234,567.89");
    assert_eq!(figures(m("9999999999.99")), "¥9,999,999,999.99");
    assert_eq!(figures(Money::from_fen(-123_456)), "-¥1,234.56");
}

/// Writes sample pages into `$DOCUMENTS_OUT` for scripts/check-documents to render.
#[test]
#[ignore = "writes files; run by scripts/check-documents"]
fn write_samples() {
    let dir = std::env::var("DOCUMENTS_OUT").expect("DOCUMENTS_OUT names the folder to write");
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let pages = [
        ("contract.html", contract_html(&active_contract())),
        (
            "contract-terminated.html",
            contract_html(&terminated_contract()),
        ),
        ("notice.html", notice_html(&notice())),
    ];
    for (name, html) in pages {
        std::fs::write(dir.join(name), html).unwrap();
    }
}
