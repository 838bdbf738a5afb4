//! The OpenAPI schemas of the specs say what validation does: on sampled
//! inputs, a value the schema allows is accepted by
//! [`validate_application`] (no problem at its field) and a value it refuses
//! is refused (by validation, or already by deserialisation), and every
//! default the schema states is the one deserialisation fills in.
//!
//! Some rules cannot be a schema keyword and are left out of the samples:
//! cross-field ones (a request above its limit, a Function call longer than
//! the run's timeout, duplicate names), reserved names (label prefixes,
//! headers), and the body's limit in bytes (the schema's `maxLength` counts
//! characters, so it is only the necessary part).

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Value, json};
use utoipa::PartialSchema;

use crate::invoke::{FunctionCall, HttpHeader};
use crate::spec::{
    ApplicationSpec, CommandOverride, CronJobSpec, EnvVar, FunctionSpec, HistoryRetention,
    ResourceList, SecretKeyRef, StatelessSpec, validate_application,
};
use crate::values::tests::strings;

fn schema<T: PartialSchema>() -> Value {
    serde_json::to_value(T::schema()).unwrap()
}

/// The schema of property `name` of the object schema `object`.
fn property(object: &Value, name: &str) -> Value {
    let p = object["properties"][name].clone();
    assert!(p.is_object(), "no property {name} in {object}");
    p
}

/// Whether `text` matches `pattern` (compiled once per test thread).
fn matches(pattern: &str, text: &str) -> bool {
    thread_local! {
        static COMPILED: RefCell<HashMap<String, Regex>> = RefCell::default();
    }
    COMPILED.with_borrow_mut(|compiled| {
        compiled
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).unwrap())
            .is_match(text)
    })
}

/// Whether `s` allows `v`, for the keywords the specs' schemas use on
/// scalars.
fn allows(s: &Value, v: &Value) -> bool {
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let type_ok = types.iter().any(|t| match *t {
        "integer" => v.is_i64() || v.is_u64(),
        "string" => v.is_string(),
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        _ => false,
    });
    if !type_ok {
        return false;
    }
    if let Some(allowed) = s["enum"].as_array()
        && !allowed.contains(v)
    {
        return false;
    }
    if let Some(n) = v.as_f64()
        && (s["minimum"].as_f64().is_some_and(|min| n < min)
            || s["maximum"].as_f64().is_some_and(|max| n > max))
    {
        return false;
    }
    if let Some(text) = v.as_str() {
        let chars = text.chars().count() as u64;
        if s["minLength"].as_u64().is_some_and(|min| chars < min)
            || s["maxLength"].as_u64().is_some_and(|max| chars > max)
        {
            return false;
        }
        if let Some(p) = s["pattern"].as_str()
            && !matches(p, text)
        {
            return false;
        }
    }
    true
}

/// Whether an application of `kind` whose spec is `base` with `value` at
/// `pointer` deserialises and has no problem at `field`.
fn accepted(kind: &str, base: &Value, pointer: &str, value: &Value, field: &str) -> bool {
    let mut spec = base.clone();
    *spec
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in {base}")) = value.clone();
    let Ok(app) = serde_json::from_value::<ApplicationSpec>(json!({"type": kind, "spec": spec}))
    else {
        return false;
    };
    match validate_application("app", &app) {
        Ok(()) => true,
        Err(e) => !e.problems.iter().any(|p| p.field == field),
    }
}

/// The schema `s` and validation agree on every sample.
fn agree(s: &Value, kind: &str, base: &Value, pointer: &str, field: &str, samples: &[Value]) {
    let app: ApplicationSpec = serde_json::from_value(json!({"type": kind, "spec": base})).unwrap();
    validate_application("app", &app).unwrap_or_else(|e| panic!("{base} is not valid: {e:?}"));
    for v in samples {
        assert_eq!(
            allows(s, v),
            accepted(kind, base, pointer, v, field),
            "{field} = {v} (schema {s})"
        );
    }
}

fn texts(alphabet: &[char], max_len: usize) -> Vec<Value> {
    strings(alphabet, max_len)
        .into_iter()
        .map(Value::from)
        .collect()
}

const NUMBERS: [i64; 31] = [
    -1, 0, 1, 2, 9, 10, 11, 19, 20, 21, 99, 100, 101, 599, 600, 601, 3599, 3600, 3601, 3649, 3650,
    3651, 9999, 10000, 10001, 65535, 65536, 604799, 604800, 604801, 4294967295,
];

/// Every integer property of `object` against validation, at
/// `pointer`/`field` plus the property's name.
fn integers(object: &Value, kind: &str, base: &Value, pointer: &str, field: &str) {
    let samples: Vec<Value> = NUMBERS.iter().map(|&n| json!(n)).collect();
    let properties = object["properties"].as_object().unwrap();
    let mut seen = 0;
    for (name, s) in properties {
        if !s["type"].to_string().contains("integer") {
            continue;
        }
        seen += 1;
        let mut base = base.clone();
        base.pointer_mut(pointer).unwrap()[name] = json!(1);
        if name == "startingDeadlineSeconds" {
            base.pointer_mut(pointer).unwrap()[name] = json!(60);
        }
        agree(
            s,
            kind,
            &base,
            &format!("{pointer}/{name}"),
            &format!("{field}.{name}"),
            &samples,
        );
    }
    assert!(seen > 0, "{object}");
}

#[test]
fn integer_ranges_are_the_ones_validation_enforces() {
    let cron = json!({"schedule": "@daily", "image": "busybox"});
    integers(&schema::<CronJobSpec>(), "cronjob", &cron, "", "spec");
    let retention = json!({"schedule": "@daily", "image": "busybox", "historyRetention": {}});
    integers(
        &schema::<HistoryRetention>(),
        "cronjob",
        &retention,
        "/historyRetention",
        "spec.historyRetention",
    );
    // A run long enough for any call the schema allows.
    let call = json!({"schedule": "@daily", "function": {"name": "f"}, "timeoutSeconds": 604800});
    integers(
        &schema::<FunctionCall>(),
        "cronjob",
        &call,
        "/function",
        "spec.function",
    );
    integers(
        &schema::<StatelessSpec>(),
        "stateless",
        &json!({"image": "web"}),
        "",
        "spec",
    );
}

#[test]
fn string_rules_are_the_ones_validation_enforces() {
    let no_nul = [json!(""), json!("x"), json!("a\u{0}b"), json!("\t\n é")];

    let env = json!({"image": "web", "env": [{"name": "A", "value": "1"}]});
    let s = schema::<EnvVar>();
    let mut names = texts(&['a', 'Z', '0', '.', '_', '-', '=', ' '], 3);
    names.push(json!("é"));
    agree(
        &property(&s, "name"),
        "stateless",
        &env,
        "/env/0/name",
        "spec.env[0].name",
        &names,
    );
    agree(
        &property(&s, "value"),
        "stateless",
        &env,
        "/env/0/value",
        "spec.env[0].value",
        &no_nul,
    );

    let secret =
        json!({"image": "web", "env": [{"name": "A", "secret": {"name": "s", "key": "k"}}]});
    let s = schema::<SecretKeyRef>();
    let mut names = texts(&['a', '0', 'A', '.', '-', '_', '/'], 3);
    names.extend(["a".repeat(253), "a".repeat(254)].map(Value::from));
    for field in ["name", "key"] {
        agree(
            &property(&s, field),
            "stateless",
            &secret,
            &format!("/env/0/secret/{field}"),
            &format!("spec.env[0].secret.{field}"),
            &names,
        );
    }

    let resources = json!({"image": "web", "resources": {"limits": {"cpu": "1", "memory": "1"}}});
    let s = schema::<ResourceList>();
    let quantities = texts(
        &['1', '0', '.', '+', '-', 'e', 'E', 'm', 'M', 'i', 'K', 'k'],
        4,
    );
    for field in ["cpu", "memory"] {
        agree(
            &property(&s, field),
            "stateless",
            &resources,
            &format!("/resources/limits/{field}"),
            &format!("spec.resources.limits.{field}"),
            &quantities,
        );
    }

    // The first element of a command must also not be blank, which a
    // schema cannot say of one element; the others are NUL-free text.
    let stateless = json!({"image": "web", "command": ["run", "x"], "args": ["x"]});
    let s = schema::<StatelessSpec>();
    for (field, pointer, path) in [
        ("command", "/command/1", "spec.command[1]"),
        ("args", "/args/0", "spec.args[0]"),
    ] {
        let items = property(&s, field)["items"].clone();
        agree(&items, "stateless", &stateless, pointer, path, &no_nul);
    }
    let argv = property(&schema::<CommandOverride>(), "argv");
    let cron =
        json!({"schedule": "@daily", "image": "busybox", "command": {"argv": ["echo", "x"]}});
    agree(
        &argv["items"],
        "cronjob",
        &cron,
        "/command/argv/1",
        "spec.command.argv[1]",
        &no_nul,
    );
    assert_eq!(argv["minItems"], 1);
    assert!(!accepted(
        "cronjob",
        &cron,
        "/command/argv",
        &json!([]),
        "spec.command.argv"
    ));

    let call = json!({"schedule": "@daily", "function": {
        "name": "f", "method": "GET", "headers": [{"name": "X-A", "value": "1"}],
        "body": "x", "expect": ["2xx"],
    }});
    let s = schema::<HttpHeader>();
    let mut names = texts(&['a', 'A', '-', '!', ' ', ':', '"'], 3);
    names.push(json!("é"));
    agree(
        &property(&s, "name"),
        "cronjob",
        &call,
        "/function/headers/0/name",
        "spec.function.headers[0].name",
        &names,
    );
    let values = texts(&['a', ' ', '\t', '\u{0}', '\n', '\u{7f}', '\u{85}', 'é'], 2);
    agree(
        &property(&s, "value"),
        "cronjob",
        &call,
        "/function/headers/0/value",
        "spec.function.headers[0].value",
        &values,
    );

    let s = schema::<FunctionCall>();
    let mut bodies = no_nul.to_vec();
    bodies.extend(["x".repeat(65536), "x".repeat(65537)].map(Value::from));
    agree(
        &property(&s, "body"),
        "cronjob",
        &call,
        "/function/body",
        "spec.function.body",
        &bodies,
    );
    let expect = property(&s, "expect");
    agree(
        &expect["items"],
        "cronjob",
        &call,
        "/function/expect/0",
        "spec.function.expect[0]",
        &texts(&['1', '5', '6', '0', 'x', 'X'], 3),
    );
    assert_eq!(expect["minItems"], 1);
    assert!(!accepted(
        "cronjob",
        &call,
        "/function/expect",
        &json!([]),
        "spec.function.expect"
    ));
    let methods = [
        "GET", "get", "POST", "PUT", "PATCH", "DELETE", "HEAD", "TRACE", "",
    ]
    .map(Value::from);
    agree(
        &property(&s, "method"),
        "cronjob",
        &call,
        "/function/method",
        "spec.function.method",
        &methods,
    );

    let function = json!({"endpoint": "http://f", "method": "GET"});
    let s = schema::<FunctionSpec>();
    agree(
        &property(&s, "method"),
        "function",
        &function,
        "/method",
        "spec.method",
        &methods,
    );
    let mut endpoints = Vec::new();
    for scheme in ["http://", "https://", "HTTP://", "ftp://", ""] {
        for rest in [
            "",
            "a",
            "a b",
            "a\u{0}",
            "a\u{85}",
            "a\u{a0}",
            "a\u{2009}",
            "a\u{3000}",
            "a\u{feff}",
            "a\t",
            "é",
            "fn.ns.svc:8080/a?b=c",
        ] {
            endpoints.push(json!(format!("{scheme}{rest}")));
        }
    }
    agree(
        &property(&s, "endpoint"),
        "function",
        &function,
        "/endpoint",
        "spec.endpoint",
        &endpoints,
    );
}

/// Label keys and values: the map's `propertyNames` and
/// `additionalProperties` against validation (the reserved prefixes aside).
#[test]
fn label_rules_are_the_ones_validation_enforces() {
    let labels = property(&schema::<CronJobSpec>(), "labels");
    let accepted = |key: &str, value: &str| {
        let spec: CronJobSpec = serde_json::from_value(
            json!({"schedule": "@daily", "image": "busybox", "labels": {key: value}}),
        )
        .unwrap();
        validate_application("app", &ApplicationSpec::Cronjob(spec)).is_ok()
    };
    let mut samples = strings(&['a', 'A', '0', '.', '-', '_', '/'], 4);
    samples.extend([
        "a".repeat(63),
        "a".repeat(64),
        format!("a.b/{}", "c".repeat(63)),
    ]);
    for key in &samples {
        assert_eq!(
            allows(&labels["propertyNames"], &json!(key)),
            accepted(key, "v"),
            "key {key:?}"
        );
    }
    for value in &samples {
        assert_eq!(
            allows(&labels["additionalProperties"], &json!(value)),
            accepted("team", value),
            "value {value:?}"
        );
    }
}

/// Every default the schema states is the one deserialisation fills in, and
/// every field deserialisation fills in has its default in the schema.
#[test]
fn defaults_are_the_ones_deserialisation_fills_in() {
    fn check<T: PartialSchema + serde::de::DeserializeOwned + serde::Serialize>(minimal: Value) {
        let s = schema::<T>();
        let filled =
            serde_json::to_value(serde_json::from_value::<T>(minimal.clone()).unwrap()).unwrap();
        for (name, p) in s["properties"].as_object().unwrap() {
            match (p.get("default"), filled.get(name)) {
                (Some(default), Some(value)) => assert_eq!(default, value, "{name}"),
                (Some(default), None) => {
                    panic!("{name}: the schema says {default}, nothing is filled in")
                }
                (None, Some(value)) => assert!(
                    minimal.get(name).is_some(),
                    "{name} is filled in with {value} but the schema has no default"
                ),
                (None, None) => {}
            }
        }
    }
    check::<CronJobSpec>(json!({"schedule": "@daily", "image": "busybox"}));
    check::<StatelessSpec>(json!({"image": "web"}));
    check::<FunctionSpec>(json!({"endpoint": "http://f"}));
    check::<FunctionCall>(json!({"name": "f"}));
    check::<CommandOverride>(json!({"argv": ["x"]}));
    check::<HistoryRetention>(json!({}));
}
