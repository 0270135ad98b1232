//! The contract diff against a table of classified changes: each row edits a base OpenAPI
//! document in one way and names the change code and impact the diff must report; a
//! non-breaking edit must report nothing breaking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coord_gates::contract::{Impact, diff};
use serde_json::{Value, json};

fn base() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Orders", "version": "1" },
        "components": {
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["id", "total"],
                    "properties": {
                        "id": { "type": "string" },
                        "total": { "type": "number" },
                        "status": { "type": "string", "enum": ["new", "paid"] },
                        "note": { "type": "string" }
                    }
                }
            },
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" }, "apiKey": { "type": "apiKey", "in": "header", "name": "X-Key" } }
        },
        "paths": {
            "/orders": {
                "get": {
                    "parameters": [{ "name": "limit", "in": "query", "schema": { "type": "integer" } }],
                    "responses": {
                        "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/Order" } } } } },
                        "400": { "description": "bad" }
                    }
                },
                "post": {
                    "security": [{ "bearer": [] }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["total"],
                        "properties": { "total": { "type": "number" }, "coupon": { "type": "string" }, "kind": { "type": "string", "enum": ["a", "b"] } }
                    } } } },
                    "responses": { "201": { "description": "created", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } } }
                }
            },
            "/orders/{id}": {
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "get": { "responses": {
                    "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
                    "404": { "description": "not found" }
                } },
                "delete": { "responses": { "204": { "description": "gone" } } }
            }
        }
    })
}

fn at<'a>(v: &'a mut Value, pointer: &str) -> &'a mut Value {
    v.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}"))
}

fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let p = at(v, parent);
    match p {
        Value::Object(o) => {
            o.remove(&key.replace("~1", "/")).unwrap();
        }
        Value::Array(a) => {
            a.remove(key.parse::<usize>().unwrap());
        }
        _ => panic!("{pointer}"),
    }
}

const POST_BODY: &str = "/paths/~1orders/post/requestBody/content/application~1json/schema";

#[test]
fn every_classified_change_is_reported_with_its_impact() {
    use Impact::{Breaking as B, NonBreaking as N};
    type Edit = fn(&mut Value);
    let table: Vec<(&str, Impact, Edit)> = vec![
        ("path-removed", B, |v| remove(v, "/paths/~1orders~1{id}")),
        ("operation-removed", B, |v| remove(v, "/paths/~1orders~1{id}/delete")),
        ("path-added", N, |v| {
            at(v, "/paths")
                .as_object_mut()
                .unwrap()
                .insert("/customers".into(), json!({ "get": { "responses": { "200": { "description": "ok" } } } }));
        }),
        ("operation-added", N, |v| {
            at(v, "/paths/~1orders~1{id}")
                .as_object_mut()
                .unwrap()
                .insert("put".into(), json!({ "responses": { "200": { "description": "ok" } } }));
        }),
        ("required-parameter-added", B, |v| {
            at(v, "/paths/~1orders/get/parameters")
                .as_array_mut()
                .unwrap()
                .push(json!({ "name": "region", "in": "query", "required": true, "schema": { "type": "string" } }))
        }),
        ("optional-parameter-added", N, |v| {
            at(v, "/paths/~1orders/get/parameters")
                .as_array_mut()
                .unwrap()
                .push(json!({ "name": "sort", "in": "query", "schema": { "type": "string" } }))
        }),
        ("parameter-removed", B, |v| remove(v, "/paths/~1orders/get/parameters/0")),
        ("parameter-made-required", B, |v| {
            at(v, "/paths/~1orders/get/parameters/0").as_object_mut().unwrap().insert("required".into(), json!(true));
        }),
        ("request-field-type-changed", B, |v| *at(v, "/paths/~1orders/get/parameters/0/schema/type") = json!("string")),
        ("request-field-required-added", B, |v| {
            at(v, &format!("{POST_BODY}/properties"))
                .as_object_mut()
                .unwrap()
                .insert("currency".into(), json!({ "type": "string" }));
            at(v, &format!("{POST_BODY}/required")).as_array_mut().unwrap().push(json!("currency"));
        }),
        ("request-field-optional-added", N, |v| {
            at(v, &format!("{POST_BODY}/properties"))
                .as_object_mut()
                .unwrap()
                .insert("gift".into(), json!({ "type": "boolean" }));
        }),
        ("request-field-made-required", B, |v| {
            at(v, &format!("{POST_BODY}/required")).as_array_mut().unwrap().push(json!("coupon"))
        }),
        ("request-field-made-optional", N, |v| *at(v, &format!("{POST_BODY}/required")) = json!([])),
        ("request-field-removed", N, |v| remove(v, &format!("{POST_BODY}/properties/coupon"))),
        ("request-enum-narrowed", B, |v| *at(v, &format!("{POST_BODY}/properties/kind/enum")) = json!(["a"])),
        ("request-enum-widened", N, |v| *at(v, &format!("{POST_BODY}/properties/kind/enum")) = json!(["a", "b", "c"])),
        ("response-field-removed", B, |v| remove(v, "/components/schemas/Order/properties/note")),
        ("response-field-added", N, |v| {
            at(v, "/components/schemas/Order/properties")
                .as_object_mut()
                .unwrap()
                .insert("created_at".into(), json!({ "type": "string" }));
        }),
        ("response-field-type-changed", B, |v| {
            *at(v, "/components/schemas/Order/properties/total/type") = json!("string")
        }),
        ("response-field-made-optional", B, |v| *at(v, "/components/schemas/Order/required") = json!(["id"])),
        ("response-enum-widened", B, |v| {
            at(v, "/components/schemas/Order/properties/status/enum").as_array_mut().unwrap().push(json!("refunded"))
        }),
        ("response-enum-narrowed", N, |v| *at(v, "/components/schemas/Order/properties/status/enum") = json!(["new"])),
        ("success-response-removed", B, |v| remove(v, "/paths/~1orders~1{id}/get/responses/200")),
        ("response-added", N, |v| {
            at(v, "/paths/~1orders/get/responses")
                .as_object_mut()
                .unwrap()
                .insert("429".into(), json!({ "description": "slow down" }));
        }),
        ("error-response-removed", N, |v| remove(v, "/paths/~1orders~1{id}/get/responses/404")),
        ("security-added", B, |v| {
            at(v, "/paths/~1orders/get").as_object_mut().unwrap().insert("security".into(), json!([{ "bearer": [] }]));
        }),
        ("security-removed", N, |v| *at(v, "/paths/~1orders/post/security") = json!([])),
        ("security-changed", B, |v| *at(v, "/paths/~1orders/post/security") = json!([{ "apiKey": [] }])),
        ("request-media-type-removed", B, |v| {
            let content = at(v, "/paths/~1orders/post/requestBody/content").as_object_mut().unwrap();
            let schema = content.remove("application/json").unwrap();
            content.insert("application/xml".into(), schema);
        }),
        ("request-body-required-added", B, |v| {
            at(v, "/paths/~1orders~1{id}/delete").as_object_mut().unwrap().insert(
                "requestBody".into(),
                json!({ "required": true, "content": { "application/json": { "schema": { "type": "object" } } } }),
            );
        }),
        ("request-body-made-required", B, |v| {
            *at(v, "/paths/~1orders/post/requestBody/required") = json!(false);
            // The edit is applied to the old document below: false → true.
        }),
        ("response-media-type-removed", B, |v| {
            let content = at(v, "/paths/~1orders~1{id}/get/responses/200/content").as_object_mut().unwrap();
            let schema = content.remove("application/json").unwrap();
            content.insert("application/xml".into(), schema);
        }),
        ("operation-deprecated", N, |v| {
            at(v, "/paths/~1orders/get").as_object_mut().unwrap().insert("deprecated".into(), json!(true));
        }),
    ];
    assert!(table.len() >= 25);
    for (code, impact, edit) in table {
        let (mut old, mut new) = (base(), base());
        // One row is easier to state as an edit of the old document.
        if code == "request-body-made-required" {
            edit(&mut old);
        } else {
            edit(&mut new);
        }
        let changes = diff(&old, &new);
        assert!(changes.iter().any(|c| c.code == code && c.impact == impact), "{code}: {changes:#?}");
        if impact == N {
            assert!(changes.iter().all(|c| c.impact == N), "{code} must not report a breaking change: {changes:#?}");
        }
    }
    assert!(diff(&base(), &base()).is_empty(), "no change, no report");
}

#[test]
fn a_ref_cycle_terminates() {
    let mut v = base();
    *at(&mut v, "/components/schemas/Order/properties/note") = json!({ "$ref": "#/components/schemas/Order" });
    let mut w = v.clone();
    *at(&mut w, "/components/schemas/Order/properties/total/type") = json!("string");
    assert!(diff(&v, &w).iter().any(|c| c.code == "response-field-type-changed"));
}
