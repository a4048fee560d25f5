//! An amount in Chinese capital numerals (大写金额), as contracts, award notices and payment
//! documents must carry it beside the figures (会计基础工作规范 art 52): 零壹贰叁肆伍陆柒捌玖,
//! 拾佰仟 within a group of four digits, 万 and 亿 between groups, 元角分; 整 after 元 when there
//! are no 角 or 分; one 零 for each run of zeros between two non-zero digits (also across 元,
//! so ¥1,000,000.10 is 壹佰万元零壹角).

use super::Money;

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];
const IN_GROUP: [&str; 4] = ["", "拾", "佰", "仟"];
const GROUPS: [&str; 3] = ["", "万", "亿"];

/// `m` in capitals: 伍分, 壹拾万元整, 壹佰万元零壹角, 零元整.
pub fn in_capitals(m: Money) -> String {
    let fen = m.fen();
    let mut out = String::new();
    if fen < 0 {
        out.push('负');
    }
    let fen = fen.unsigned_abs();
    let (yuan, jiao, fen) = (fen / 100, (fen / 10 % 10) as usize, (fen % 10) as usize);
    if yuan == 0 && jiao == 0 && fen == 0 {
        return out + "零元整";
    }
    if yuan > 0 {
        integer(yuan, &mut out);
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) => out.push('整'),
        (0, f) => {
            if yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
        (j, f) => {
            if yuan % 10 == 0 && yuan > 0 {
                out.push('零');
            }
            out.push(DIGITS[j]);
            out.push('角');
            if f > 0 {
                out.push(DIGITS[f]);
                out.push('分');
            }
        }
    }
    out
}

/// The whole-yuan part, at most 12 digits (up to 亿 groups of four; `MAX_FEN` has 10).
fn integer(n: u64, out: &mut String) {
    let digits: Vec<usize> = n.to_string().bytes().map(|b| (b - b'0') as usize).collect();
    let len = digits.len();
    let mut zero_pending = false;
    let mut group_has_digit = false;
    for (i, &d) in digits.iter().enumerate() {
        let pos = len - 1 - i;
        if d == 0 {
            zero_pending = true;
        } else {
            if zero_pending {
                out.push('零');
            }
            zero_pending = false;
            out.push(DIGITS[d]);
            out.push_str(IN_GROUP[pos % 4]);
            group_has_digit = true;
        }
        if pos.is_multiple_of(4) {
            if group_has_digit {
                out.push_str(GROUPS[(pos / 4).min(GROUPS.len() - 1)]);
            }
            group_has_digit = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::MAX_FEN;

    fn caps(s: &str) -> String {
        in_capitals(Money::parse(s).unwrap())
    }

    #[test]
    fn the_examples_of_the_contract_issue() {
        assert_eq!(caps("0.05"), "伍分");
        assert_eq!(caps("100000.00"), "壹拾万元整");
        assert_eq!(caps("1000000.10"), "壹佰万元零壹角");
        assert_eq!(caps("10010.00"), "壹万零壹拾元整");
        assert_eq!(
            in_capitals(Money::from_fen(MAX_FEN)),
            "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"
        );
    }

    #[test]
    fn zeros_are_one_zero_per_run_and_none_at_the_end() {
        assert_eq!(caps("0.00"), "零元整");
        assert_eq!(caps("0.50"), "伍角");
        assert_eq!(caps("0.55"), "伍角伍分");
        assert_eq!(caps("1.05"), "壹元零伍分");
        assert_eq!(caps("10.05"), "壹拾元零伍分");
        assert_eq!(caps("12.50"), "壹拾贰元伍角");
        assert_eq!(caps("10.50"), "壹拾元零伍角");
        assert_eq!(caps("100001.00"), "壹拾万零壹元整");
        assert_eq!(caps("1010000.00"), "壹佰零壹万元整");
        assert_eq!(caps("100000000.00"), "壹亿元整");
        assert_eq!(caps("100000001.00"), "壹亿零壹元整");
        assert_eq!(caps("100001000.00"), "壹亿零壹仟元整");
        assert_eq!(caps("100010000.00"), "壹亿零壹万元整");
        assert_eq!(caps("290000.00"), "贰拾玖万元整");
        assert_eq!(caps("3050.60"), "叁仟零伍拾元零陆角");
        assert_eq!(
            caps("1234567890.12"),
            "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元零壹角贰分"
        );
    }
}
