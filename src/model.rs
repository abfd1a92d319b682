//! Typed models of the Terraform values a composite gets and gives
//! (configuration, proposed and planned state, state): structs whose fields
//! are the schema's attributes, decoded once from a `Value` and encoded
//! back to one. A field keeps the attribute path it came from, so a
//! diagnostic about it points where Terraform underlines.
//!
//! `model!` is the only place attribute names are spelt: a struct field
//! named as the attribute, the name taken from the field's own identifier.
//! A misspelt field does not compile, and each composite's test checks that
//! its models and its schema name the same attributes.

use std::collections::BTreeMap;

use crate::diag::Path;
use crate::value::Value;

/// A value as Terraform has it: null, not known until apply, or known.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Val<T> {
    #[default]
    Null,
    Unknown,
    Known(T),
}

impl<T> Val<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Val::Known(t) => Some(t),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown)
    }
    pub fn from_option(o: Option<T>) -> Val<T> {
        o.map(Val::Known).unwrap_or(Val::Null)
    }
}

/// What an attribute's value can be: decoded from and encoded to a
/// `Value`. Decoding a value of another type gives None (read as null: the
/// protocol layer already checked values against the schema).
pub trait Scalar: Sized + Clone {
    fn from_value(v: &Value, at: &Path) -> Option<Self>;
    fn to_value(&self) -> Value;
    /// Whether nothing inside is unknown (collections).
    fn wholly_known(&self) -> bool {
        true
    }
}

impl Scalar for String {
    fn from_value(v: &Value, _: &Path) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
    fn to_value(&self) -> Value {
        Value::String(self.clone())
    }
}

impl Scalar for bool {
    fn from_value(v: &Value, _: &Path) -> Option<Self> {
        v.as_bool()
    }
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}

/// Numbers stay as Terraform sends them, so validation can tell 3.5 from 3.
impl Scalar for f64 {
    fn from_value(v: &Value, _: &Path) -> Option<Self> {
        v.as_f64()
    }
    fn to_value(&self) -> Value {
        Value::Number(*self)
    }
}

fn decode_val<T: Scalar>(v: &Value, at: &Path) -> Val<T> {
    match v {
        Value::Null => Val::Null,
        Value::Unknown => Val::Unknown,
        v => Val::from_option(T::from_value(v, at)),
    }
}

fn encode_val<T: Scalar>(v: &Val<T>) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Unknown => Value::Unknown,
        Val::Known(t) => t.to_value(),
    }
}

/// Elements of a set or list, each possibly unknown (e.g. one subnet id
/// from a resource not made yet): the known ones can be checked early.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Elements<T>(pub Vec<Val<T>>);

impl<T: Scalar> Elements<T> {
    fn decode(items: &[Value], at: &Path) -> Self {
        Elements(items.iter().enumerate().map(|(i, e)| decode_val(e, &at.index(i))).collect())
    }
    fn encode(&self) -> Vec<Value> {
        self.0.iter().map(encode_val).collect()
    }
    /// The known elements, in order.
    pub fn known(&self) -> impl Iterator<Item = &T> {
        self.0.iter().filter_map(Val::known)
    }
    /// The known elements with their index.
    pub fn indexed(&self) -> impl Iterator<Item = (usize, &T)> {
        self.0.iter().enumerate().filter_map(|(i, v)| v.known().map(|t| (i, t)))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn all_known(&self) -> bool {
        self.0.iter().all(|v| v.known().is_some_and(T::wholly_known))
    }
}

/// A set attribute.
#[derive(Debug, Clone, Default)]
pub struct Set<T>(pub Elements<T>);

/// Sets compare as sets, as Terraform compares them: the order the user
/// wrote and the order AWS answers are the same value.
impl<T: PartialEq> PartialEq for Set<T> {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&self.0 .0, &other.0 .0);
        a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
    }
}

/// A list attribute.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List<T>(pub Elements<T>);

impl<T: Scalar> Scalar for Set<T> {
    fn from_value(v: &Value, at: &Path) -> Option<Self> {
        matches!(v, Value::Set(_) | Value::List(_)).then(|| Set(Elements::decode(v.elements(), at)))
    }
    fn to_value(&self) -> Value {
        Value::Set(self.0.encode())
    }
    fn wholly_known(&self) -> bool {
        self.0.all_known()
    }
}

impl<T: Scalar> Scalar for List<T> {
    fn from_value(v: &Value, at: &Path) -> Option<Self> {
        matches!(v, Value::Set(_) | Value::List(_)).then(|| List(Elements::decode(v.elements(), at)))
    }
    fn to_value(&self) -> Value {
        Value::List(self.0.encode())
    }
    fn wholly_known(&self) -> bool {
        self.0.all_known()
    }
}

impl<T> std::ops::Deref for Set<T> {
    type Target = Elements<T>;
    fn deref(&self) -> &Elements<T> {
        &self.0
    }
}

impl<T> std::ops::Deref for List<T> {
    type Target = Elements<T>;
    fn deref(&self) -> &Elements<T> {
        &self.0
    }
}

impl Set<String> {
    pub fn of(items: &[String]) -> Set<String> {
        Set(Elements(items.iter().cloned().map(Val::Known).collect()))
    }
}

impl List<String> {
    pub fn of(items: &[String]) -> List<String> {
        List(Elements(items.iter().cloned().map(Val::Known).collect()))
    }
}

/// A map attribute: keys are always known, values may not be.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<T>(pub BTreeMap<String, Val<T>>);

impl<T: Scalar> Scalar for Map<T> {
    fn from_value(v: &Value, at: &Path) -> Option<Self> {
        match v {
            Value::Map(m) | Value::Object(m) => Some(Map(m.iter().map(|(k, e)| (k.clone(), decode_val(e, &at.key(k)))).collect())),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        Value::Map(self.0.iter().map(|(k, v)| (k.clone(), encode_val(v))).collect())
    }
    fn wholly_known(&self) -> bool {
        self.0.values().all(|v| v.known().is_some_and(T::wholly_known))
    }
}

impl Map<String> {
    pub fn of(m: &BTreeMap<String, String>) -> Map<String> {
        Map(m.iter().map(|(k, v)| (k.clone(), Val::Known(v.clone()))).collect())
    }
    /// The entries whose values are known.
    pub fn known(&self) -> BTreeMap<String, String> {
        self.0.iter().filter_map(|(k, v)| v.known().map(|v| (k.clone(), v.clone()))).collect()
    }
}

/// One attribute: its value and where it is in the configuration.
#[derive(Debug, Clone, Default)]
pub struct Attr<T> {
    pub val: Val<T>,
    pub path: Path,
}

/// Attributes compare by value: the same attribute at two paths (a state
/// and a configuration) is still the same setting.
impl<T: PartialEq> PartialEq for Attr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.val == other.val
    }
}

impl<T: Scalar> Attr<T> {
    pub fn get(&self) -> Option<&T> {
        self.val.known()
    }
    pub fn is_null(&self) -> bool {
        self.val.is_null()
    }
    pub fn is_unknown(&self) -> bool {
        self.val.is_unknown()
    }
    /// Known, with nothing unknown inside.
    pub fn is_wholly_known(&self) -> bool {
        match &self.val {
            Val::Known(t) => t.wholly_known(),
            Val::Null => true,
            Val::Unknown => false,
        }
    }
    /// A new value at the same path.
    pub fn set(&mut self, val: Val<T>) {
        self.val = val;
    }
    pub fn set_known(&mut self, t: T) {
        self.val = Val::Known(t);
    }
    /// The value, or `default` when null (unknown stays unknown).
    pub fn or_default_to(&mut self, default: T) {
        if self.is_null() {
            self.val = Val::Known(default);
        }
    }
}

impl Attr<String> {
    pub fn str(&self) -> Option<&str> {
        self.get().map(String::as_str)
    }
    pub fn owned(&self) -> Option<String> {
        self.get().cloned()
    }
}

impl Attr<bool> {
    pub fn bool(&self) -> Option<bool> {
        self.get().copied()
    }
}

impl Attr<f64> {
    pub fn number(&self) -> Option<f64> {
        self.get().copied()
    }
    /// A whole number, when it is one.
    pub fn int(&self) -> Option<i64> {
        self.number().filter(|n| n.fract() == 0.0).map(|n| n as i64)
    }
}

impl Attr<Set<String>> {
    /// Sorted, de-duplicated known strings; empty for null or unknown.
    pub fn strings(&self) -> Vec<String> {
        let items: std::collections::BTreeSet<String> = self.get().map(|s| s.known().cloned().collect()).unwrap_or_default();
        items.into_iter().collect()
    }
}

impl Attr<List<String>> {
    /// The known strings in order; empty for null or unknown.
    pub fn strings(&self) -> Vec<String> {
        self.get().map(|l| l.known().cloned().collect()).unwrap_or_default()
    }
}

impl Attr<Map<String>> {
    /// The entries with known values; empty for null or unknown.
    pub fn entries(&self) -> BTreeMap<String, String> {
        self.get().map(Map::known).unwrap_or_default()
    }
}

/// A struct of attributes (the resource itself, or one of its blocks).
pub trait Model: Sized + Clone + Default {
    /// The attribute and block names, as the schema spells them.
    const ATTRIBUTES: &'static [&'static str];
    fn decode_at(v: &Value, at: &Path) -> Self;
    fn encode(&self) -> Value;
    /// The resource's model from a whole value (configuration or state).
    fn decode(v: &Value) -> Self {
        Self::decode_at(v, &Path::root())
    }
}

/// How one field of a model is read and written.
pub trait Field: Sized {
    fn decode_field(v: &Value, at: &Path) -> Self;
    fn encode_field(&self) -> Value;
}

impl<T: Scalar> Field for Attr<T> {
    fn decode_field(v: &Value, at: &Path) -> Self {
        Attr { val: decode_val(v, at), path: at.clone() }
    }
    fn encode_field(&self) -> Value {
        encode_val(&self.val)
    }
}

/// A block that is always there (required, or a Group block the protocol
/// layer fills in): a null one decodes as all-null attributes.
impl<M: Model> Field for M {
    fn decode_field(v: &Value, at: &Path) -> Self {
        M::decode_at(v, at)
    }
    fn encode_field(&self) -> Value {
        self.encode()
    }
}

/// A list of blocks, each at its index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Blocks<M>(pub Vec<M>);

impl<M: Model> Field for Blocks<M> {
    fn decode_field(v: &Value, at: &Path) -> Self {
        Blocks(v.elements().iter().enumerate().map(|(i, b)| M::decode_at(b, &at.index(i))).collect())
    }
    fn encode_field(&self) -> Value {
        Value::List(self.0.iter().map(Model::encode).collect())
    }
}

/// Declares a model: a struct whose fields are attributes (`Attr<T>`) or
/// blocks (a `Model`, or `Blocks<M>`). A field named like a Rust keyword
/// gives its attribute name after `as`: `kind as "type": Attr<String>`.
#[macro_export]
macro_rules! model {
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
    (
        $(#[$meta:meta])*
        $vis:vis struct $model:ident {
            $( $(#[$fmeta:meta])* $field:ident $(as $name:literal)? : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        $vis struct $model {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::model::Model for $model {
            const ATTRIBUTES: &'static [&'static str] = &[$( $crate::model!(@name $field $($name)?) ),*];

            fn decode_at(v: &$crate::value::Value, at: &$crate::diag::Path) -> Self {
                use $crate::model::Field;
                $model {
                    $( $field: Field::decode_field(
                        v.get($crate::model!(@name $field $($name)?)),
                        &at.then($crate::model!(@name $field $($name)?)),
                    ), )*
                }
            }

            fn encode(&self) -> $crate::value::Value {
                use $crate::model::Field;
                $crate::value::Value::object([
                    $( ($crate::model!(@name $field $($name)?), self.$field.encode_field()), )*
                ])
            }
        }
    };
}

/// An encoded block without the attributes `names` (a model shared by two
/// blocks that each have only some of its attributes).
pub fn without(v: Value, names: &[&str]) -> Value {
    match v {
        Value::Object(mut fields) => {
            for n in names {
                fields.remove(*n);
            }
            Value::Object(fields)
        }
        v => v,
    }
}

/// Differences between a model's attribute names and a schema block's
/// (attributes and nested blocks): empty when they name the same ones.
pub fn attribute_mismatch<M: Model>(block: &crate::schema::Block) -> Vec<String> {
    let schema: std::collections::BTreeSet<&str> =
        block.attributes.iter().map(|a| a.name).chain(block.blocks.iter().map(|b| b.name)).collect();
    let model: std::collections::BTreeSet<&str> = M::ATTRIBUTES.iter().copied().collect();
    let missing = schema.difference(&model).map(|n| format!("{n}: in the schema, not in the model"));
    let extra = model.difference(&schema).map(|n| format!("{n}: in the model, not in the schema"));
    missing.chain(extra).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::model! {
        struct Inner {
            kind as "type": Attr<String>,
            count: Attr<f64>,
        }
    }

    crate::model! {
        struct Outer {
            name: Attr<String>,
            ids: Attr<Set<String>>,
            tags: Attr<Map<String>>,
            on: Attr<bool>,
            inner: Inner,
            list: Blocks<Inner>,
        }
    }

    fn sample() -> Value {
        Value::object([
            ("name", Value::string("a")),
            ("ids", Value::Set(vec![Value::string("subnet-1"), Value::Unknown])),
            ("tags", Value::Map([("k".to_string(), Value::Unknown)].into())),
            ("on", Value::Null),
            ("inner", Value::object([("type", Value::string("Gateway")), ("count", Value::Number(3.5))])),
            ("list", Value::List(vec![Value::object([("type", Value::Unknown), ("count", Value::Null)])])),
        ])
    }

    #[test]
    fn decode_then_encode_gives_the_value_back() {
        let v = sample();
        assert_eq!(Outer::decode(&v).encode(), v);
    }

    #[test]
    fn fields_keep_their_paths_and_knowledge() {
        let m = Outer::decode(&sample());
        assert_eq!(m.inner.kind.str(), Some("Gateway"));
        assert_eq!(m.inner.count.path.to_string(), "inner.count");
        assert_eq!(m.inner.count.int(), None, "3.5 is no whole number");
        assert_eq!(m.list.0[0].kind.path.to_string(), "list[0].type");
        assert!(m.list.0[0].kind.is_unknown());
        assert_eq!(m.ids.strings(), vec!["subnet-1".to_string()]);
        assert!(!m.ids.is_wholly_known() && !m.tags.is_wholly_known());
        assert!(m.on.is_null() && m.on.is_wholly_known());
        assert_eq!(Outer::ATTRIBUTES, &["name", "ids", "tags", "on", "inner", "list"]);
        assert_eq!(Inner::ATTRIBUTES, &["type", "count"]);
    }

    #[test]
    fn a_missing_block_decodes_as_nulls() {
        let m = Outer::decode(&Value::object([("name", Value::string("a"))]));
        assert!(m.inner.kind.is_null() && m.list.0.is_empty());
        assert_eq!(m.inner.kind.path.to_string(), "inner.type");
    }
}
