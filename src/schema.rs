//! Schemas as the provider declares them, their cty types, and their
//! protocol form. Nested blocks only (no nested attribute types): they
//! work with every Terraform from 1.0 and OpenTofu alike.

use std::collections::BTreeMap;

use crate::proto::tfplugin6 as pb;

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object<'a>(attrs: impl IntoIterator<Item = (&'a str, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.to_string(), t)).collect())
    }

    /// cty's JSON type notation, which the protocol carries in `Attribute.type`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Type::String => json!("string"),
            Type::Number => json!("number"),
            Type::Bool => json!("bool"),
            Type::List(t) => json!(["list", t.to_json()]),
            Type::Set(t) => json!(["set", t.to_json()]),
            Type::Map(t) => json!(["map", t.to_json()]),
            Type::Object(a) => {
                json!(["object", a.iter().map(|(k, t)| (k.clone(), t.to_json())).collect::<serde_json::Map<_, _>>()])
            }
        }
    }

    /// Words for a diagnostic: "a string", "a set of string"...
    pub fn describe(&self) -> String {
        match self {
            Type::String => "a string".into(),
            Type::Number => "a number".into(),
            Type::Bool => "a bool".into(),
            Type::List(t) => format!("a list of {}", t.describe()),
            Type::Set(t) => format!("a set of {}", t.describe()),
            Type::Map(t) => format!("a map of {}", t.describe()),
            Type::Object(_) => "an object".into(),
        }
    }
}

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
    Single,
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
    pub fn block(mut self, name: &'static str, nesting: Nesting, block: Block) -> Block {
        let max_items = if nesting == Nesting::Single { 1 } else { 0 };
        self.blocks.push(NestedBlock { name, nesting, block, min_items: 0, max_items });
        self
    }

    /// Like `block`, for a list or set the user must write at least `min` times.
    pub fn block_at_least(mut self, name: &'static str, nesting: Nesting, min: i64, block: Block) -> Block {
        self.blocks.push(NestedBlock { name, nesting, block, min_items: min, max_items: 0 });
        self
    }

    /// The object type of a value of this block: attributes plus nested
    /// blocks (single -> object, list -> list of objects, set -> set of objects).
    pub fn implied_type(&self) -> Type {
        let mut fields: BTreeMap<String, Type> =
            self.attributes.iter().map(|a| (a.name.to_string(), a.ty.clone())).collect();
        for b in &self.blocks {
            let inner = b.block.implied_type();
            let t = match b.nesting {
                Nesting::Single => inner,
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
        let b = Block::new("x")
            .attr(attr("id", Type::String, Mode::Computed, ""))
            .block("inner", Nesting::Single, Block::new("").attr(attr("k", Type::Bool, Mode::Optional, "")));
        assert_eq!(
            b.implied_type(),
            Type::object([("id", Type::String), ("inner", Type::object([("k", Type::Bool)]))])
        );
    }

    #[test]
    fn proto_marks_optional_computed_both_ways() {
        let b = Block::new("").attr(attr("region", Type::String, Mode::OptionalComputed, ""));
        let p = b.to_proto();
        assert!(p.attributes[0].optional && p.attributes[0].computed && !p.attributes[0].required);
    }
}
