//! Schemas as the provider declares them and their protocol form. Nested
//! blocks only (no nested attribute types): they work with every Terraform
//! from 1.0 and OpenTofu alike. Their cty types are `value::Type`, kept
//! beside the values they type and re-exported here, since every schema is
//! written with them.

use std::collections::BTreeMap;

use crate::proto::tfplugin6 as pb;
pub use crate::value::Type;
use crate::value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    Computed,
    OptionalComputed,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: &'static str,
    pub ty: Type,
    pub mode: Mode,
    pub sensitive: bool,
    pub description: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; null when not written.
    Single,
    /// Exactly one block, always present: when not written, an object whose
    /// attributes are null (optional+computed ones get the provider's
    /// values). Settings blocks use it so that state always shows their
    /// effective values, whether or not the configuration writes them.
    Group,
    List,
    Set,
}

#[derive(Debug, Clone)]
pub struct NestedBlock {
    pub name: &'static str,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub description: &'static str,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
}

/// Builder shorthands so a schema reads like the docs table.
pub fn attr(name: &'static str, ty: Type, mode: Mode, description: &'static str) -> Attribute {
    Attribute { name, ty, mode, sensitive: false, description }
}

impl Attribute {
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
}

impl Block {
    pub fn new(description: &'static str) -> Block {
        Block { description, ..Default::default() }
    }
    pub fn attr(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }
    /// An optional block: Single and Group blocks are written at most once
    /// (Terraform wants min_items == max_items == 0 for both), lists and
    /// sets any number of times.
    pub fn block(mut self, name: &'static str, nesting: Nesting, block: Block) -> Block {
        self.blocks.push(NestedBlock { name, nesting, block, min_items: 0, max_items: 0 });
        self
    }

    /// A Single block the user must write exactly once (min = max = 1).
    pub fn required_block(mut self, name: &'static str, block: Block) -> Block {
        self.blocks.push(NestedBlock { name, nesting: Nesting::Single, block, min_items: 1, max_items: 1 });
        self
    }

    /// A list or set block the user must write at least `min` times.
    pub fn block_at_least(mut self, name: &'static str, nesting: Nesting, min: i64, block: Block) -> Block {
        debug_assert!(matches!(nesting, Nesting::List | Nesting::Set), "{name}: min_items applies to list and set blocks");
        self.blocks.push(NestedBlock { name, nesting, block, min_items: min, max_items: 0 });
        self
    }

    /// `v` with every Group block that is null made an object of nulls,
    /// as Terraform represents a Group block the configuration leaves out.
    /// A state the provider builds (import, read of an older state) must
    /// have that shape, or Terraform sees "null" against "object of nulls"
    /// as a change.
    pub fn with_groups(&self, v: Value) -> Value {
        let Value::Object(mut fields) = v else { return v };
        for nb in &self.blocks {
            if nb.nesting != Nesting::Group {
                continue;
            }
            let inner = match fields.remove(nb.name) {
                None | Some(Value::Null) => Value::Object(nb.block.attributes.iter().map(|a| (a.name.to_string(), Value::Null)).collect()),
                Some(other) => other,
            };
            fields.insert(nb.name.to_string(), nb.block.with_groups(inner));
        }
        Value::Object(fields)
    }

    /// The object type of a value of this block: attributes plus nested
    /// blocks (single -> object, list -> list of objects, set -> set of objects).
    pub fn implied_type(&self) -> Type {
        let mut fields: BTreeMap<String, Type> = self.attributes.iter().map(|a| (a.name.to_string(), a.ty.clone())).collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                Nesting::Single | Nesting::Group => inner,
                Nesting::List => Type::List(Box::new(inner)),
                Nesting::Set => Type::Set(Box::new(inner)),
            };
            fields.insert(b.name.to_string(), t);
        }
        Type::Object(fields)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn nested(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    pub fn to_proto(&self) -> pb::schema::Block {
        pb::schema::Block {
            version: 0,
            description: self.description.to_string(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: false,
            attributes: self
                .attributes
                .iter()
                .map(|a| pb::schema::Attribute {
                    name: a.name.to_string(),
                    r#type: a.ty.to_json().to_string().into_bytes(),
                    nested_type: None,
                    description: a.description.to_string(),
                    required: a.mode == Mode::Required,
                    optional: matches!(a.mode, Mode::Optional | Mode::OptionalComputed),
                    computed: matches!(a.mode, Mode::Computed | Mode::OptionalComputed),
                    sensitive: a.sensitive,
                    description_kind: pb::StringKind::Markdown as i32,
                    deprecated: false,
                })
                .collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| pb::schema::NestedBlock {
                    type_name: b.name.to_string(),
                    block: Some(b.block.to_proto()),
                    nesting: match b.nesting {
                        Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                        Nesting::Group => pb::schema::nested_block::NestingMode::Group,
                        Nesting::List => pb::schema::nested_block::NestingMode::List,
                        Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                    } as i32,
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
        }
    }
}

/// A versioned schema of a resource, data source or the provider itself.
#[derive(Debug, Clone)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }
    pub fn ty(&self) -> Type {
        self.block.implied_type()
    }
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema { version: self.version, block: Some(self.block.to_proto()) }
    }
}

/// The rules Terraform applies to a provider's schema when it loads it
/// (`configschema`'s internal validation, run by every release since 1.1,
/// and by OpenTofu): a schema that breaks one is refused with "invalid
/// schema ... which is a bug in the provider" before any plan. Checked on
/// the protocol form, which is what Terraform sees. Each error names the
/// attribute or block path, e.g. `queue: MinItems and MaxItems must match
/// in NestingSingle mode`.
pub fn protocol_errors(schema: &pb::Schema) -> Vec<String> {
    let mut out = Vec::new();
    if schema.version < 0 {
        out.push(format!("negative schema version {}", schema.version));
    }
    match &schema.block {
        Some(b) => block_errors(b, "", &mut out),
        None => out.push("top-level block schema is nil".into()),
    }
    out
}

/// Lowercase letters, digits and underscores: the only names HCL
/// configuration can write as an argument or block type.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn block_errors(b: &pb::schema::Block, prefix: &str, out: &mut Vec<String>) {
    use pb::schema::nested_block::NestingMode as N;
    let mut seen = std::collections::BTreeSet::new();
    for a in &b.attributes {
        let at = format!("{prefix}{}", a.name);
        if !seen.insert(a.name.as_str()) {
            out.push(format!("{at}: defined twice"));
        }
        if !valid_name(&a.name) {
            out.push(format!("{at}: name may contain only lowercase letters, digits and underscores"));
        }
        attribute_errors(a, &at, out);
    }
    for nb in &b.block_types {
        let at = format!("{prefix}{}", nb.type_name);
        if !seen.insert(nb.type_name.as_str()) {
            out.push(format!("{at}: name defined as both attribute and child block type, or twice"));
        } else if !valid_name(&nb.type_name) {
            out.push(format!("{at}: name may contain only lowercase letters, digits and underscores"));
        }
        let (min, max) = (nb.min_items, nb.max_items);
        if min < 0 || max < 0 {
            out.push(format!("{at}: MinItems and MaxItems must both be greater than zero"));
        }
        match N::try_from(nb.nesting).unwrap_or(N::Invalid) {
            N::Single if min != max => out.push(format!("{at}: MinItems and MaxItems must match in NestingSingle mode")),
            N::Single if !(0..=1).contains(&min) => {
                out.push(format!("{at}: MinItems and MaxItems must be set to either 0 or 1 in NestingSingle mode"))
            }
            N::Group if min != 0 || max != 0 => out.push(format!("{at}: MinItems and MaxItems cannot be used in NestingGroup mode")),
            N::List | N::Set if min > max && max != 0 => out.push(format!("{at}: MinItems must be less than or equal to MaxItems")),
            N::Map if min != 0 || max != 0 => out.push(format!("{at}: MinItems and MaxItems must both be 0 in NestingMap mode")),
            N::Invalid => out.push(format!("{at}: invalid nesting mode")),
            _ => {}
        }
        match &nb.block {
            Some(inner) => {
                if N::try_from(nb.nesting) == Ok(N::Set) && contains_dynamic(inner) {
                    out.push(format!("{at}: NestingSet blocks may not contain attributes of cty.DynamicPseudoType"));
                }
                block_errors(inner, &format!("{at}."), out);
            }
            None => out.push(format!("{at}: block schema is nil")),
        }
    }
}

fn attribute_errors(a: &pb::schema::Attribute, at: &str, out: &mut Vec<String>) {
    match (a.required, a.optional, a.computed) {
        (false, false, false) => out.push(format!("{at}: must set Optional, Required or Computed")),
        (true, true, _) => out.push(format!("{at}: cannot set both Optional and Required")),
        (true, _, true) => out.push(format!("{at}: cannot set both Computed and Required")),
        _ => {}
    }
    match (a.r#type.is_empty(), &a.nested_type) {
        (true, None) => out.push(format!("{at}: either Type or NestedType must be defined")),
        (false, Some(_)) => out.push(format!("{at}: Type and NestedType cannot both be set")),
        (false, None) => {
            let parsed = serde_json::from_slice::<serde_json::Value>(&a.r#type).ok();
            if !parsed.as_ref().is_some_and(valid_cty_type) {
                out.push(format!("{at}: type {} is not cty's JSON type notation", String::from_utf8_lossy(&a.r#type)));
            }
        }
        (true, Some(_)) => {}
    }
}

/// cty's JSON type notation: "string", "number", "bool", "dynamic",
/// ["list"|"set"|"map", T], ["object", {name: T}] and ["tuple", [T...]].
fn valid_cty_type(t: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match t {
        J::String(s) => matches!(s.as_str(), "string" | "number" | "bool" | "dynamic"),
        J::Array(parts) => match (parts.first().and_then(J::as_str), parts.get(1), parts.len()) {
            (Some("list" | "set" | "map"), Some(inner), 2) => valid_cty_type(inner),
            (Some("object"), Some(J::Object(fields)), 2 | 3) => fields.values().all(valid_cty_type),
            (Some("tuple"), Some(J::Array(items)), 2) => items.iter().all(valid_cty_type),
            _ => false,
        },
        _ => false,
    }
}

fn contains_dynamic(b: &pb::schema::Block) -> bool {
    b.attributes.iter().any(|a| String::from_utf8_lossy(&a.r#type).contains("\"dynamic\""))
        || b.block_types.iter().filter_map(|nb| nb.block.as_ref()).any(contains_dynamic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cty_type_json() {
        let t = Type::object([("a", Type::set(Type::String)), ("b", Type::map(Type::Number))]);
        assert_eq!(t.to_json().to_string(), r#"["object",{"a":["set","string"],"b":["map","number"]}]"#);
    }

    #[test]
    fn implied_type_includes_blocks() {
        let b = Block::new("x").attr(attr("id", Type::String, Mode::Computed, "")).block(
            "inner",
            Nesting::Single,
            Block::new("").attr(attr("k", Type::Bool, Mode::Optional, "")),
        );
        assert_eq!(b.implied_type(), Type::object([("id", Type::String), ("inner", Type::object([("k", Type::Bool)]))]));
    }

    #[test]
    fn proto_marks_optional_computed_both_ways() {
        let b = Block::new("").attr(attr("region", Type::String, Mode::OptionalComputed, ""));
        let p = b.to_proto();
        assert!(p.attributes[0].optional && p.attributes[0].computed && !p.attributes[0].required);
    }

    fn nested(nesting: Nesting, min: i64, max: i64) -> pb::Schema {
        let mut b = Block::new("").block("inner", nesting, Block::new("").attr(attr("k", Type::Bool, Mode::Optional, "")));
        b.blocks[0].min_items = min;
        b.blocks[0].max_items = max;
        Schema::new(b).to_proto()
    }

    #[test]
    fn a_group_block_left_out_is_an_object_of_nulls() {
        let b = Block::new("").block("g", Nesting::Group, Block::new("").attr(attr("k", Type::Bool, Mode::Optional, "")));
        let empty = b.with_groups(Value::object([("g", Value::Null)]));
        assert_eq!(empty, Value::object([("g", Value::object([("k", Value::Null)]))]));
        let written = Value::object([("g", Value::object([("k", Value::Bool(true))]))]);
        assert_eq!(b.with_groups(written.clone()), written);
        assert_eq!(b.with_groups(Value::Null), Value::Null);
    }

    #[test]
    fn nesting_rules_as_terraform_checks_them() {
        assert!(protocol_errors(&nested(Nesting::Single, 0, 0)).is_empty());
        assert!(protocol_errors(&nested(Nesting::Single, 1, 1)).is_empty());
        assert_eq!(protocol_errors(&nested(Nesting::Single, 0, 1)), ["inner: MinItems and MaxItems must match in NestingSingle mode"]);
        assert_eq!(
            protocol_errors(&nested(Nesting::Single, 2, 2)),
            ["inner: MinItems and MaxItems must be set to either 0 or 1 in NestingSingle mode"]
        );
        assert!(protocol_errors(&nested(Nesting::Group, 0, 0)).is_empty());
        assert_eq!(protocol_errors(&nested(Nesting::Group, 1, 1)), ["inner: MinItems and MaxItems cannot be used in NestingGroup mode"]);
        assert!(protocol_errors(&nested(Nesting::List, 1, 0)).is_empty());
        assert!(protocol_errors(&nested(Nesting::List, 1, 3)).is_empty());
        assert_eq!(protocol_errors(&nested(Nesting::Set, 3, 1)), ["inner: MinItems must be less than or equal to MaxItems"]);
        assert_eq!(protocol_errors(&nested(Nesting::List, -1, 0)), ["inner: MinItems and MaxItems must both be greater than zero"]);
    }

    #[test]
    fn attribute_rules_as_terraform_checks_them() {
        let one = |a: Attribute| protocol_errors(&Schema::new(Block::new("").attr(a)).to_proto());
        assert!(one(attr("ok_1", Type::String, Mode::OptionalComputed, "")).is_empty());
        assert_eq!(
            one(attr("Bad-Name", Type::String, Mode::Optional, "")),
            ["Bad-Name: name may contain only lowercase letters, digits and underscores"]
        );
        let mut p = Schema::new(Block::new("").attr(attr("a", Type::String, Mode::Required, ""))).to_proto();
        let a = &mut p.block.as_mut().unwrap().attributes[0];
        a.computed = true;
        a.optional = true;
        assert_eq!(protocol_errors(&p), ["a: cannot set both Optional and Required",]);
        let a = &mut p.block.as_mut().unwrap().attributes[0];
        a.optional = false;
        assert_eq!(protocol_errors(&p), ["a: cannot set both Computed and Required"]);
        let a = &mut p.block.as_mut().unwrap().attributes[0];
        (a.required, a.computed, a.r#type) = (false, false, b"[\"list\"]".to_vec());
        assert_eq!(
            protocol_errors(&p),
            ["a: must set Optional, Required or Computed", "a: type [\"list\"] is not cty's JSON type notation"]
        );
    }

    #[test]
    fn a_block_may_not_share_an_attribute_name() {
        let b = Block::new("").attr(attr("x", Type::String, Mode::Optional, "")).block("x", Nesting::List, Block::new(""));
        assert_eq!(protocol_errors(&Schema::new(b).to_proto()), ["x: name defined as both attribute and child block type, or twice"]);
    }
}
