//! The Chinese words a document prints for the wire strings of statuses and tranche conditions.
//! A string this table does not know is printed as it is (escaped), never dropped.

use chrono::NaiveDate;

use super::page::date_cn;

/// A contract's status.
pub fn contract_status(s: &str) -> &str {
    match s {
        "pending_signature" => "待签署",
        "active" => "履行中",
        "completed" => "已履行完毕",
        "terminated" => "已终止",
        other => other,
    }
}

/// A tranche's status.
pub fn tranche_status(s: &str) -> &str {
    match s {
        "pending" => "待条件成就",
        "releasable" => "可拨付",
        "withheld" => "暂缓拨付",
        "released" => "已拨付",
        "cancelled" => "已取消",
        other => other,
    }
}

/// An award's status: in its objection window (政府采购法 art 52), final, or revoked.
pub fn award_status(s: &str) -> &str {
    match s {
        "pending_objections" => "公示中（质疑期内）",
        "final" => "结果已确定",
        "revoked" => "已撤销",
        other => other,
    }
}

/// When a tranche becomes payable, in words: 合同签订后, 中期评估通过后, 结项评估通过后, 于 date.
pub fn tranche_condition(condition: &str, date: Option<NaiveDate>) -> String {
    match (condition, date) {
        ("on_signing", _) => "合同签订后".into(),
        ("on_midterm_passed", _) => "中期评估通过后".into(),
        ("on_completion_passed", _) => "结项评估通过后".into(),
        ("on_date", Some(d)) => format!("于{}", date_cn(d)),
        ("on_date", None) => "于约定日期".into(),
        (other, _) => other.into(),
    }
}
