//! What the edge must know of an operation before it runs: whether it is a
//! mutation, and its root fields (the cost limit counts them; an
//! `Idempotency-Key` applies to one of them).

use std::collections::HashMap;

use async_graphql::Value;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};

/// The most root fields that touch the database in one operation.
pub const MAX_ROOT_FIELDS: usize = 50;

/// The operation of a document that a request runs.
#[derive(Debug, PartialEq, Eq)]
pub struct Operation {
    /// Whether it is a mutation.
    pub mutation: bool,
    /// Its root fields.
    pub root: RootFields,
}

/// The root fields of an operation, fragments expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootFields {
    /// The names of those that touch the database (each alias once, not
    /// introspection); at most [`MAX_ROOT_FIELDS`] + 1, enough to tell it is over.
    pub names: Vec<String>,
    /// Whether one of them is `__schema` or `__type`.
    pub introspects: bool,
    /// The keys of the response's `data`, in the order the document selects them.
    pub keys: Vec<String>,
}

impl Operation {
    /// The operation `name` picks (or the only one) in `document`; `None`
    /// when there is no such operation (GraphQL then says so itself).
    pub fn of(document: &ExecutableDocument, name: Option<&str>) -> Option<Self> {
        let operation = match (&document.operations, name) {
            (DocumentOperations::Single(operation), _) => operation,
            (DocumentOperations::Multiple(operations), Some(name)) => {
                operations.iter().find(|(each, _)| each.as_str() == name)?.1
            }
            (DocumentOperations::Multiple(_), None) => return None,
        };
        let mut expander = Expander { document, expanded: HashMap::new() };
        Some(Self {
            mutation: operation.node.ty == OperationType::Mutation,
            root: expander.fields(&operation.node.selection_set.node),
        })
    }

    /// Whether it has more root fields than [`MAX_ROOT_FIELDS`].
    pub fn too_costly(&self) -> bool {
        self.root.names.len() > MAX_ROOT_FIELDS
    }

    /// `data` with its keys in the order of the document: the root fields of
    /// a query run concurrently, and async-graphql keeps them in the order
    /// they finished.
    pub fn in_selection_order(&self, data: &mut Value) {
        if let Value::Object(fields) = data {
            let position = |key: &str| self.root.keys.iter().position(|each| each == key).unwrap_or(usize::MAX);
            fields.sort_by(|a, _, b, _| position(a.as_str()).cmp(&position(b.as_str())));
        }
    }
}

/// Expands fragments, each once (a fragment spread twice per level, nested,
/// must not cost exponential time).
struct Expander<'a> {
    document: &'a ExecutableDocument,
    expanded: HashMap<&'a str, RootFields>,
}

impl<'a> Expander<'a> {
    fn fields(&mut self, selection_set: &'a SelectionSet) -> RootFields {
        let mut fields = RootFields::default();
        for selection in &selection_set.items {
            if fields.names.len() > MAX_ROOT_FIELDS {
                break;
            }
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.alias.as_ref().unwrap_or(&field.node.name);
                    fields.keys.push(key.node.to_string());
                    match field.node.name.node.as_str() {
                        "__schema" | "__type" => fields.introspects = true,
                        "__typename" => {}
                        name => fields.names.push(name.to_owned()),
                    }
                    continue;
                }
                Selection::InlineFragment(fragment) => self.fields(&fragment.node.selection_set.node),
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str()),
            };
            fields.names.extend(inner.names);
            fields.keys.extend(inner.keys);
            fields.introspects |= inner.introspects;
        }
        fields.names.truncate(MAX_ROOT_FIELDS + 1);
        fields.keys.truncate(MAX_ROOT_FIELDS * 2);
        fields
    }

    fn fragment(&mut self, name: &'a str) -> RootFields {
        if let Some(fields) = self.expanded.get(name) {
            return fields.clone();
        }
        // Marked before it is expanded: a fragment that spreads itself (which
        // validation refuses) counts nothing instead of recursing forever.
        self.expanded.insert(name, RootFields::default());
        let fields = match self.document.fragments.get(name) {
            Some(fragment) => self.fields(&fragment.node.selection_set.node),
            None => RootFields::default(),
        };
        self.expanded.insert(name, fields.clone());
        fields
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn operation(query: &str, name: Option<&str>) -> Option<Operation> {
        Operation::of(&parse_query(query).expect("parses"), name)
    }

    #[test]
    fn root_fields_count_aliases_and_fragments_but_not_introspection() {
        let query = "query { a: cart(id: 1) { id } b: cart(id: 2) { id } ...F ... on Query { products { nodes { id } } } __typename __schema { types { name } } }
                     fragment F on Query { product(id: 3) { id } }";
        let found = operation(query, None).expect("one operation");
        assert!(!found.mutation);
        assert_eq!(found.root.names, ["cart", "cart", "product", "products"]);
        assert_eq!(found.root.keys, ["a", "b", "product", "products", "__typename", "__schema"]);
        assert!(found.root.introspects);
        let fragment = operation("{ ...F } fragment F on Query { __type(name: \"Cart\") { name } }", None);
        assert!(fragment.is_some_and(|found| found.root.introspects && found.root.names.is_empty()));
    }

    #[test]
    fn the_named_operation_is_the_one_judged() {
        let query = "query Read { cart(id: 1) { id } } mutation Write { createCart { id } }";
        let write = operation(query, Some("Write")).expect("found");
        assert!(write.mutation);
        assert_eq!(write.root.names, ["createCart"]);
        assert_eq!(operation(query, None), None, "two operations and no name");
        assert_eq!(operation(query, Some("Other")), None);
    }

    #[test]
    fn fragments_doubling_at_every_level_stop_at_the_limit_quickly() {
        let mut query = String::from("{ ...F0 }");
        for level in 0..40 {
            query.push_str(&format!(" fragment F{level} on Query {{ ...F{next} ...F{next} }}", next = level + 1));
        }
        query.push_str(" fragment F40 on Query { createCart { id } }");
        let found = operation(&query, None).expect("one operation");
        assert!(found.too_costly());
        assert_eq!(found.root.names.len(), MAX_ROOT_FIELDS + 1);
    }

    #[test]
    fn a_fragment_that_spreads_itself_ends() {
        let found = operation("{ ...F } fragment F on Query { cart(id: 1) { id } ...F }", None).expect("found");
        assert_eq!(found.root.names, ["cart"]);
    }
}
