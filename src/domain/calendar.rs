//! Working days: Monday–Friday, minus public holidays, plus make-up working days (调休上班),
//! per year, as data. A year without a list counts weekends only, and says so.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// A holiday block as the State Council notice lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidayRange {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One year's arrangement (the shape of `config/calendar/<year>.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearArrangement {
    pub year: i32,
    #[serde(default)]
    pub source: Option<String>,
    pub holidays: Vec<HolidayRange>,
    /// Weekend days that are working days.
    pub workdays: Vec<NaiveDate>,
}

impl YearArrangement {
    /// Checks that every date lies in the year, ranges are ordered, and make-up days are
    /// weekend days that are not holidays. Returns (field, message) on the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (i, h) in self.holidays.iter().enumerate() {
            if h.from > h.to {
                return Err((
                    format!("holidays[{i}].to"),
                    "must not be before from".into(),
                ));
            }
            if h.from.year() != self.year || h.to.year() != self.year {
                return Err((
                    format!("holidays[{i}]"),
                    format!("must lie in {}", self.year),
                ));
            }
            if h.name.trim().is_empty() {
                return Err((format!("holidays[{i}].name"), "must not be empty".into()));
            }
        }
        for (i, d) in self.workdays.iter().enumerate() {
            if d.year() != self.year {
                return Err((
                    format!("workdays[{i}]"),
                    format!("must lie in {}", self.year),
                ));
            }
            if !is_weekend(*d) {
                return Err((
                    format!("workdays[{i}]"),
                    "a make-up working day must be a Saturday or Sunday".into(),
                ));
            }
            if self.holidays.iter().any(|h| h.from <= *d && *d <= h.to) {
                return Err((format!("workdays[{i}]"), "is inside a holiday".into()));
            }
        }
        Ok(())
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The calendar of several years.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
    years: BTreeMap<i32, String>,
}

/// A date reached by counting working days, and the years counted without a holiday list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub date: NaiveDate,
    pub years_without_list: Vec<i32>,
}

impl WorkingCalendar {
    pub fn new(years: &[YearArrangement]) -> WorkingCalendar {
        let mut cal = WorkingCalendar::default();
        for y in years {
            cal.years
                .insert(y.year, y.source.clone().unwrap_or_default());
            for h in &y.holidays {
                let mut d = h.from;
                while d <= h.to {
                    cal.holidays.insert(d);
                    d = d.succ_opt().expect("date in range");
                }
            }
            cal.workdays.extend(y.workdays.iter().copied());
        }
        cal
    }

    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !is_weekend(d) && !self.holidays.contains(&d)
    }

    /// The `n`th working day after `start` (`start` itself is not counted; n = 0 gives `start`).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Counted {
        let mut d = start;
        let mut left = n;
        let mut missing = BTreeSet::new();
        while left > 0 {
            d = d.succ_opt().expect("date in range");
            if !self.has_year(d.year()) {
                missing.insert(d.year());
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        Counted {
            date: d,
            years_without_list: missing.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal_2026() -> WorkingCalendar {
        let text = include_str!("../../config/calendar/2026.toml");
        let y: YearArrangement = toml::from_str(text).unwrap();
        y.check().unwrap();
        WorkingCalendar::new(&[y])
    }

    #[test]
    fn national_day_week_is_off_and_the_make_up_saturday_works() {
        let c = cal_2026();
        assert!(!c.is_working_day(d("2026-10-01")));
        assert!(!c.is_working_day(d("2026-10-07")));
        assert!(
            c.is_working_day(d("2026-10-10")),
            "Saturday 10 Oct is a make-up day"
        );
        assert!(!c.is_working_day(d("2026-10-11")), "Sunday");
        assert!(c.is_working_day(d("2026-10-08")));
    }

    #[test]
    fn seven_working_days_across_national_day() {
        let c = cal_2026();
        // From Wed 30 Sep: 8 Oct (Thu), 9 (Fri), 10 (make-up Sat), 12, 13, 14, 15.
        let r = c.add_working_days(d("2026-09-30"), 7);
        assert_eq!(r.date, d("2026-10-15"));
        assert!(r.years_without_list.is_empty());
    }

    #[test]
    fn seven_working_days_across_spring_festival() {
        let c = cal_2026();
        // From Fri 13 Feb: Sat 14 (make-up), then 15–23 off, 24, 25, 26, 27, 28 (make-up Sat), 2 Mar.
        let r = c.add_working_days(d("2026-02-13"), 7);
        assert_eq!(r.date, d("2026-03-02"));
    }

    #[test]
    fn a_year_without_a_list_counts_weekends_only_and_says_so() {
        let c = cal_2026();
        let r = c.add_working_days(d("2026-12-30"), 3);
        // 31 Dec (Thu), 1 Jan 2027 (Fri, no list: a working day), 4 Jan (Mon).
        assert_eq!(r.date, d("2027-01-04"));
        assert_eq!(r.years_without_list, vec![2027]);
    }

    #[test]
    fn bad_arrangements_name_the_field() {
        let mut y: YearArrangement =
            toml::from_str(include_str!("../../config/calendar/2026.toml")).unwrap();
        y.workdays.push(d("2026-03-04"));
        assert_eq!(
            y.check().unwrap_err().0,
            format!("workdays[{}]", y.workdays.len() - 1)
        );
    }
}
