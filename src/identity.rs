//! Resource identity (Terraform 1.12+, OpenTofu 1.12+): a small object of
//! plain attributes that names one managed resource instance. Terraform
//! stores it beside the state and uses it for `import { identity = {...} }`.
//! Each composite declares its identity schema and derives the value from
//! its state (`Resource::identity`); this module holds what they share: the
//! schema's protocol form and the rules Terraform holds an identity to.

use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::schema::Type;
use crate::value::Value;

/// The provider's region, in every identity: a provider serves one region,
/// and the same name in two regions is two resources.
pub const REGION: &str = "region";

#[derive(Debug, Clone)]
pub struct IdentityAttribute {
    pub name: &'static str,
    pub ty: Type,
    /// `import { identity = {...} }` must set it; otherwise the provider
    /// fills it in (optional for import).
    pub required_for_import: bool,
    pub description: &'static str,
}

impl IdentityAttribute {
    /// A string the user must give to import.
    pub fn required(name: &'static str, description: &'static str) -> IdentityAttribute {
        IdentityAttribute { name, ty: Type::String, required_for_import: true, description }
    }
    /// A string the provider fills in when an import leaves it out.
    pub fn optional(name: &'static str, description: &'static str) -> IdentityAttribute {
        IdentityAttribute { name, ty: Type::String, required_for_import: false, description }
    }
}

/// A resource type's identity schema. Version 0 is the only one so far;
/// a change of the attributes needs a new version and an upgrade in
/// UpgradeResourceIdentity.
#[derive(Debug, Clone)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

impl IdentitySchema {
    pub fn new(attributes: Vec<IdentityAttribute>) -> IdentitySchema {
        IdentitySchema { version: 0, attributes }
    }

    /// The object type identity values have on the wire.
    pub fn ty(&self) -> Type {
        Type::Object(self.attributes.iter().map(|a| (a.name.to_string(), a.ty.clone())).collect())
    }

    pub fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.to_string(),
                    r#type: a.ty.to_json().to_string().into_bytes(),
                    required_for_import: a.required_for_import,
                    optional_for_import: !a.required_for_import,
                    description: a.description.to_string(),
                })
                .collect(),
        }
    }

    /// `identity.name = "orders", identity.region = "us-east-1"`: an
    /// identity as the user wrote it, for messages (unset attributes left
    /// out).
    pub fn describe(&self, identity: &Value) -> String {
        self.attributes
            .iter()
            .filter_map(|a| identity.get(a.name).as_str().map(|v| format!("identity.{} = {v:?}", a.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Errors for each import-required attribute the identity leaves unset.
    pub fn missing(&self, identity: &Value) -> Diagnostics {
        let missing = self.attributes.iter().filter(|a| a.required_for_import && identity.get(a.name).as_str().is_none_or(str::is_empty));
        Diagnostics(
            missing
                .map(|a| {
                    Diagnostic::error(
                        "Incomplete import identity",
                        format!("identity.{} is required to import by identity: {}", a.name, a.description),
                    )
                })
                .collect(),
        )
    }
}

/// `identity.region`, when the user gives it, must be the provider's
/// region: a provider's clients reach one region only.
pub fn check_region(identity: &Value, region: &str) -> Result<(), Diagnostic> {
    match identity.get(REGION).as_str() {
        Some(r) if r != region => Err(Diagnostic::error(
            "Import identity in another region",
            format!(
                "identity.region is {r:?}, but this provider is configured for {region:?}. \
                 Import with a provider configured for {r:?} (an aliased provider block with region = {r:?}, and provider = privatelink.ALIAS in the import block)."
            ),
        )),
        _ => Ok(()),
    }
}

/// An import by identity found a resource: each attribute the user gave
/// must be what the resource has, or the import names the one that differs.
pub fn mismatches(schema: &IdentitySchema, asked: &Value, found: &Value) -> Diagnostics {
    let differing = schema.attributes.iter().filter_map(|a| {
        let want = asked.get(a.name).as_str()?;
        let got = found.get(a.name);
        (got.as_str() != Some(want)).then_some((a.name, want, got))
    });
    Diagnostics(
        differing
            .map(|(name, want, got)| {
                Diagnostic::error(
                    "Imported resource has another identity",
                    format!("identity.{name} asked for {want:?}, but the resource found has {name} = {}.", shown(got)),
                )
            })
            .collect(),
    )
}

/// The identity to plan. A resource that exists and stays keeps the
/// identity Terraform stored (`prior`): Terraform refuses an unknown
/// identity for it, and an identity is permanent. A create or a replace
/// plans `from_plan`, the identity of the planned state, whose parts may be
/// unknown until apply. None: nothing to plan (Terraform keeps none).
pub fn planned(stays: bool, prior: &Value, from_plan: Option<Value>) -> Option<Value> {
    if stays && !prior.is_null() {
        return Some(prior.clone());
    }
    match from_plan {
        Some(v) if stays && !v.is_wholly_known() => None,
        other => other,
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "none".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> IdentitySchema {
        IdentitySchema::new(vec![IdentityAttribute::required("name", "The name."), IdentityAttribute::optional(REGION, "The region.")])
    }

    fn id(name: Value, region: Value) -> Value {
        Value::object([("name", name), (REGION, region)])
    }

    #[test]
    fn proto_marks_import_requirements() {
        let p = schema().to_proto();
        assert_eq!(p.version, 0);
        let name = &p.identity_attributes[0];
        assert!(name.required_for_import && !name.optional_for_import);
        assert_eq!(name.r#type, br#""string""#);
        let region = &p.identity_attributes[1];
        assert!(!region.required_for_import && region.optional_for_import);
        assert_eq!(schema().ty(), Type::object([("name", Type::String), (REGION, Type::String)]));
    }

    #[test]
    fn missing_required_attributes_are_named() {
        let d = schema().missing(&id(Value::Null, Value::string("us-east-1")));
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("identity.name"), "{:?}", d.0[0]);
        assert!(schema().missing(&id(Value::string("orders"), Value::Null)).0.is_empty());
    }

    #[test]
    fn region_must_be_the_providers() {
        assert!(check_region(&id(Value::string("a"), Value::Null), "us-east-1").is_ok());
        assert!(check_region(&id(Value::string("a"), Value::string("us-east-1")), "us-east-1").is_ok());
        let e = check_region(&id(Value::string("a"), Value::string("eu-west-1")), "us-east-1").unwrap_err();
        assert!(e.detail.contains("identity.region") && e.detail.contains("us-east-1"), "{e:?}");
    }

    #[test]
    fn mismatches_name_the_attribute() {
        let found = id(Value::string("orders"), Value::string("us-east-1"));
        assert!(mismatches(&schema(), &id(Value::string("orders"), Value::Null), &found).0.is_empty());
        let d = mismatches(&schema(), &id(Value::string("billing"), Value::Null), &found);
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("identity.name") && d.0[0].detail.contains("\"orders\""), "{:?}", d.0[0]);
    }

    #[test]
    fn an_existing_resource_keeps_its_identity() {
        let stored = id(Value::string("orders"), Value::string("us-east-1"));
        let computed = id(Value::string("orders"), Value::string("us-east-1"));
        assert_eq!(planned(true, &stored, Some(computed.clone())), Some(stored.clone()));
        // Stored before Terraform knew identities: the state's, if known.
        assert_eq!(planned(true, &Value::Null, Some(computed.clone())), Some(computed));
        assert_eq!(planned(true, &Value::Null, Some(id(Value::string("orders"), Value::Unknown))), None);
        // A create or a replace may plan unknown parts.
        let partly = id(Value::Unknown, Value::string("us-east-1"));
        assert_eq!(planned(false, &Value::Null, Some(partly.clone())), Some(partly.clone()));
        assert_eq!(planned(false, &stored, Some(partly.clone())), Some(partly));
        assert_eq!(planned(false, &Value::Null, None), None);
    }

    #[test]
    fn describe_shows_what_was_given() {
        assert_eq!(schema().describe(&id(Value::string("orders"), Value::Null)), r#"identity.name = "orders""#);
    }
}
