//! Statuses as types. A status column is `Text` in both databases and an enum everywhere else:
//! [`status_enum!`] gives the enum its string table (the only place the strings are written),
//! serde as that string, its OpenAPI schema (a string enum of those values), and the diesel
//! mapping, so rows carry the enum and filters bind it. An
//! unknown string read back is a deserialization error (a 500 with its cause in the log), never
//! a default. [`Lifecycle`] is a status's state machine: `next` is its diagram, and a refused
//! move becomes 409 `invalid_state` in one place, [`refused`].

use std::fmt::{Debug, Display};

use crate::error::AppError;

/// An enum over a status column's values, each written once as its snake_case string.
///
/// ```ignore
/// status_enum! {
///     /// Where a bid stands.
///     pub enum LampStatus { On = "on", Off = "off" }
/// }
/// ```
macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The string stored in the column and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl $crate::status::Status for $name {
            const ALL: &'static [$name] = $name::ALL;
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
            fn parse(s: &str) -> Option<$name> {
                $name::parse(s)
            }
        }

        /// The stored value, quoted: what a statement binds (`GONGYI_SQL_TRACE` writes it so).
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:?}", self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$name> for String {
            fn from(s: $name) -> String {
                s.as_str().to_owned()
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // The schema is the string table, so the document lists exactly the wire values.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::domain::wire_strings_schema(&[$($text),+])
            }
        }

        impl utoipa::ToSchema for $name {}

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?;
                $name::parse(&s).ok_or_else(|| {
                    format!("{} {s:?} is not one of {:?}", stringify!($name), [$($text),+]).into()
                })
            }
        }
    };
}
pub(crate) use status_enum;

/// The moves of a state machine, each with how a refusal words it (`be published`).
///
/// ```ignore
/// action_enum! {
///     pub enum LampAction { Switch = "be switched" }
/// }
/// ```
macro_rules! action_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $phrase:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $crate::status::Action for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            fn refusal(self) -> &'static str {
                match self {
                    $($name::$variant => $phrase),+
                }
            }
        }
    };
}
pub(crate) use action_enum;

/// What [`status_enum!`] gives every status.
pub trait Status: Copy + Eq + Debug + Display + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn parse(s: &str) -> Option<Self>;
}

/// What [`action_enum!`] gives every action.
pub trait Action: Copy + Eq + Debug + 'static {
    const ALL: &'static [Self];
    /// The verb phrase after "cannot": `be published`, `take bids`.
    fn refusal(self) -> &'static str;
}

/// A status's state machine.
pub trait Lifecycle: Status {
    type Action: Action;
    /// How a refusal names the thing: `a project`, `an organization`.
    const NOUN: &'static str;

    /// The diagram: the status after `action`, or `None` when the move is not in it.
    fn next(self, action: Self::Action) -> Option<Self>;

    /// The status after `action`, or 409 `invalid_state`.
    fn step(self, action: Self::Action) -> Result<Self, AppError> {
        self.next(action).ok_or_else(|| self.refuse(action))
    }

    /// The refusal of `action` from this status (also the answer when a guarded update finds
    /// the row moved meanwhile: refused from where it is now).
    fn refuse(self, action: Self::Action) -> AppError {
        let mut e = refused(Self::NOUN, self.as_str(), action.refusal());
        if let Some(hint) = self.hint(action) {
            e.detail = format!("{}; {hint}", e.detail);
        }
        e
    }

    /// What to do first when `action` is refused from this status, where the diagram has a way
    /// there (the refusal says it after its reason).
    fn hint(self, _action: Self::Action) -> Option<&'static str> {
        None
    }
}

/// The one 409 `invalid_state` of a move a state machine does not allow.
pub fn refused(noun: &str, status: &str, refusal: &str) -> AppError {
    AppError::invalid_state(format!("{noun} that is {status} cannot {refusal}"))
}

/// For the transition tests: walks every (status, action) pair and checks that exactly the
/// `moves` of the diagram are allowed, each to its target, and every other pair is refused
/// with 409 `invalid_state`.
#[cfg(test)]
pub fn assert_diagram<S: Lifecycle>(moves: &[(S, S::Action, S)]) {
    for &(from, action, _) in moves {
        assert_eq!(
            moves
                .iter()
                .filter(|(f, a, _)| *f == from && *a == action)
                .count(),
            1,
            "{from:?} {action:?} is listed twice"
        );
    }
    for &from in S::ALL {
        for &action in S::Action::ALL {
            let want = moves
                .iter()
                .find(|(f, a, _)| *f == from && *a == action)
                .map(|m| m.2);
            assert_eq!(from.next(action), want, "{from:?} {action:?}");
            match (from.step(action), want) {
                (Ok(to), Some(w)) => assert_eq!(to, w),
                (Err(e), None) => {
                    assert_eq!(e.status.as_u16(), 409, "{from:?} {action:?}");
                    assert_eq!(e.code, "invalid_state", "{from:?} {action:?}");
                    assert!(e.detail.contains(from.as_str()), "{}", e.detail);
                }
                (got, want) => panic!("{from:?} {action:?}: {got:?}, want {want:?}"),
            }
        }
    }
    for &s in S::ALL {
        assert_eq!(
            S::parse(s.as_str()),
            Some(s),
            "{s:?} round-trips its string"
        );
    }
}
