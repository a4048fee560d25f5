//! The page shell both documents share (doctype, language, print stylesheet) and the ways
//! they show money, dates and times.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::Party;
use crate::domain::capitals::in_capitals;
use crate::domain::Money;

/// A4 with 20 mm margins; system CJK fonts only (serif first, as printed contracts are set),
/// so the page needs nothing from outside itself. On screen the page is drawn as a sheet.
const STYLE: &str = r#"
@page { size: A4; margin: 20mm; }
html {
  font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "SimSun",
    "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", serif;
  font-size: 11pt; line-height: 1.65; color: #000;
}
body { margin: 0; }
.sheet { box-sizing: border-box; max-width: 210mm; margin: 0 auto; padding: 20mm; background: #fff; }
h1 { font-size: 20pt; text-align: center; letter-spacing: 0.3em; margin: 0 0 2pt; }
.subtitle { font-size: 13pt; text-align: center; margin: 0 0 10pt; }
.meta { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 2pt 12pt;
  font-size: 9.5pt; border-bottom: 1.5pt solid #000; padding-bottom: 3pt; margin-bottom: 8pt; }
h2 { font-size: 12.5pt; margin: 14pt 0 5pt; }
h3 { font-size: 11pt; margin: 8pt 0 4pt; }
p { margin: 4pt 0; }
table { width: 100%; border-collapse: collapse; margin: 4pt 0 8pt; }
th, td { border: 0.75pt solid #000; padding: 3pt 6pt; text-align: left; vertical-align: top; }
thead th, tfoot td { background: #eee; }
thead th, time { white-space: nowrap; }
th[scope="row"] { width: 9em; font-weight: normal; background: #f5f5f5; white-space: nowrap; }
.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.capitals { font-weight: bold; letter-spacing: 0.05em; }
.figure { font-weight: bold; }
.banner { border: 2pt solid #a00; color: #a00; padding: 6pt 10pt; margin: 10pt 0; }
.banner strong { font-size: 13pt; }
.muted { color: #555; }
.note { font-size: 9pt; color: #333; }
.signatures { display: flex; gap: 10mm; margin-top: 8pt; }
.signature { flex: 1; border: 0.75pt solid #000; padding: 6pt 8pt; }
.signature .seal { height: 28mm; border-bottom: 0.75pt dashed #777; margin-bottom: 4pt;
  color: #777; font-size: 9pt; }
.footer { margin-top: 14pt; border-top: 0.75pt solid #000; padding-top: 3pt; }
h2, h3 { break-after: avoid; page-break-after: avoid; }
tr, .signatures, .banner { break-inside: avoid; page-break-inside: avoid; }
thead { display: table-header-group; }
tfoot { display: table-footer-group; }
@media screen {
  html { background: #ddd; }
  .sheet { margin: 16px auto; box-shadow: 0 0 6px #999; }
}
@media print {
  html { background: none; }
  .sheet { max-width: none; margin: 0; padding: 0; box-shadow: none; }
  thead th, tfoot td, th[scope="row"] { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// The whole document: `title` in the head, `body` inside one printable sheet.
pub fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main class="sheet" { (body) }
            }
        }
    }
    .into_string()
}

/// `m` in figures with thousands separators: ¥1,234,567.89.
pub fn figures(m: Money) -> String {
    let plain = m.to_string();
    let (sign, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", plain.as_str()),
    };
    let (whole, cents) = unsigned.split_once('.').unwrap_or((unsigned, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}¥{grouped}.{cents}")
}

/// `m` in figures, carrying the exact two-decimal amount ("300000.00") as its machine value.
pub fn money(m: Money) -> Markup {
    html! { data value=(m) { (figures(m)) } }
}

/// `m` in figures (小写) and in Chinese capitals (大写), as a contract states an amount.
pub fn amount_both(m: Money) -> Markup {
    html! {
        span class="figure" { "（小写）" (money(m)) }
        br;
        span class="capitals" { "（大写）人民币" (in_capitals(m)) }
    }
}

/// China Standard Time, in which every time on a document is shown.
fn cst_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// `t` in China Standard Time as text: 2025年3月5日 18:30.
pub fn cst_text(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst_offset())
        .format("%Y年%-m月%-d日 %H:%M")
        .to_string()
}

/// `t` in China Standard Time, keeping the exact instant (UTC) as its machine value.
pub fn cst(t: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(SecondsFormat::Secs, true)) { (cst_text(t)) }
    }
}

/// A calendar date the Chinese way: 2025年3月1日.
pub fn date_cn(d: NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// Two table rows for a party: its name under `role`, then its credit code.
pub fn party_rows(role: &str, p: &Party) -> Markup {
    html! {
        tr {
            th scope="row" { (role) }
            td { (p.name) }
        }
        tr {
            th scope="row" { "统一社会信用代码" }
            td {
                @match &p.credit_code {
                    Some(code) => { (code) }
                    None => { span class="muted" { "未提供" } }
                }
            }
        }
    }
}

/// The line every document ends with: that its times are China Standard Time.
pub fn time_note() -> Markup {
    html! { p class="note" { "注：本文件所载时间均为北京时间（UTC+8）。" } }
}
