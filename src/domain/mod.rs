//! Pure domain types: no actix, no diesel. A value that exists is valid.

pub mod calendar;
pub mod capitals;
pub mod draw;
pub mod eligibility;
pub mod money;
pub mod rules;
pub mod scoring;
pub mod spec;
pub mod uscc;

pub use money::Money;

/// The OpenAPI schema of a string enum: exactly its strings on the wire (the enums of specs and
/// the status columns publish their string tables, not Rust's variant names).
pub fn wire_strings_schema(
    values: &[&'static str],
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .into()
}
