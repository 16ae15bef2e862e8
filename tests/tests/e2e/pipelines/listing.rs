//! `GET /pipelines?status=&limit=&cursor=`: oldest first, in pages that
//! follow `next_cursor` (null on the last page), filtered by status; a query
//! that cannot be understood is a 400.

use flexcore_tests::assert_error;
use serde_json::Value;

use super::{Api, Store, Subject, id_of, json_of};

fn names(items: &[Value]) -> Vec<String> {
    items.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
}

async fn create_named(api: &Api, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(id_of(&api.create_ok(&format!("p{i}"), &["echo"]).await));
    }
    ids
}

async fn pipelines_page_in_creation_order(store: Store) {
    let s = Subject::start(store).await;
    assert_eq!(
        s.api.get_json("/pipelines").await,
        serde_json::json!({ "pipelines": [], "next_cursor": null })
    );
    let ids = create_named(&s.api, 7).await;
    let all: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();

    let whole = s.api.get_json("/pipelines").await;
    assert_eq!(whole["next_cursor"], Value::Null);
    assert_eq!(names(whole["pipelines"].as_array().unwrap()), all);
    assert_eq!(
        whole["pipelines"][3],
        s.api.pipeline(&ids[3]).await,
        "listed as GET shows it"
    );

    let pages = s.api.pages("/pipelines?limit=3", "pipelines").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(names(&pages.concat()), all);

    // A page that ends exactly at the last item says there is no more.
    let exact = s.api.get_json("/pipelines?limit=7").await;
    assert_eq!(
        (exact["pipelines"].as_array().unwrap().len(), &exact["next_cursor"]),
        (7, &Value::Null)
    );
    let first = s.api.get_json("/pipelines?limit=6").await;
    assert_eq!(
        first["next_cursor"].as_str(),
        Some(ids[5].as_str()),
        "the cursor is the last id listed"
    );
    let pages = s.api.pages("/pipelines?limit=1", "pipelines").await;
    assert_eq!(pages.len(), 7);
    assert_eq!(names(&pages.concat()), all);

    let after_last = s.api.get_json(&format!("/pipelines?cursor={}", ids[6])).await;
    assert_eq!(after_last["pipelines"], serde_json::json!([]));
    assert_eq!(after_last["next_cursor"], Value::Null);
    let after_third = s.api.get_json(&format!("/pipelines?cursor={}&limit=2", ids[2])).await;
    assert_eq!(names(after_third["pipelines"].as_array().unwrap()), ["p3", "p4"]);
}

async fn pipelines_are_filtered_by_status(store: Store) {
    let s = Subject::start(store).await;
    let ids = create_named(&s.api, 6).await;
    for i in [1, 3, 4] {
        json_of(s.api.action(&ids[i], "activate", None).await, 200).await;
    }
    for i in [4, 5] {
        json_of(s.api.action(&ids[i], "archive", None).await, 200).await;
    }
    for (status, expected) in [
        ("draft", vec!["p0", "p2"]),
        ("active", vec!["p1", "p3"]),
        ("archived", vec!["p4", "p5"]),
    ] {
        let listed = s.api.all(&format!("/pipelines?status={status}"), "pipelines").await;
        assert_eq!(names(&listed), expected, "status={status}");
        assert!(listed.iter().all(|p| p["status"] == status));
        let paged = s
            .api
            .pages(&format!("/pipelines?status={status}&limit=1"), "pipelines")
            .await;
        assert_eq!(paged.len(), 2, "status={status}&limit=1 gives a page per pipeline");
        assert_eq!(names(&paged.concat()), expected);
    }
    assert_eq!(
        s.api.all("/pipelines?status=", "pipelines").await.len(),
        6,
        "an empty status is no filter"
    );
}

async fn bad_list_queries_are_400(store: Store) {
    let s = Subject::start(store).await;
    let id = id_of(&s.api.create_ok("one", &["echo"]).await);
    let queries = [
        "limit=0",
        "limit=501",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "limit=",
        "cursor=xyz",
        "cursor=123",
        "status=bogus",
        "status=ACTIVE",
        "color=red",
        "limit=1&limit=2",
    ];
    for query in queries {
        let response = Api::send(
            s.api
                .request(reqwest::Method::GET, &format!("/pipelines?{query}"), None),
        )
        .await;
        assert_error(response, 400, "invalid_request").await;
    }
    for query in ["limit=0", "limit=501", "cursor=xyz", "status=active", "color=red"] {
        let path = format!("/pipelines/{id}/executions?{query}");
        let response = Api::send(s.api.request(reqwest::Method::GET, &path, None)).await;
        assert_error(response, 400, "invalid_request").await;
    }
    assert_eq!(
        s.api.get_json("/pipelines?limit=500").await["pipelines"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        s.api.get_json("/pipelines?limit=1").await["pipelines"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

super::on_both_stores!(
    pipelines_page_in_creation_order,
    pipelines_are_filtered_by_status,
    bad_list_queries_are_400,
);
