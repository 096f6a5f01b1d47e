//! What the web console needs of the API, over HTTP: the browser session
//! (refresh token in an HttpOnly cookie, CSRF refused), signed URLs for
//! thumbnails and the live stream (a browser's `<img>` and `EventSource`
//! send no header), the tenant-wide creatives library, and the console's
//! own files at `/`.

mod common;

use std::sync::Arc;

use adpulse_domain::Role;
use adpulse_domain::ports::LiveCounters;
use common::{Api, PASSWORD, Reply};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};

const CSRF: (&str, &str) = ("x-adpulse-csrf", "1");

/// `POST /session` as the console sends it.
async fn open_session(api: &Api, email: &str, password: &str, extra: &[(&str, &str)]) -> Reply {
    let mut headers = vec![CSRF];
    headers.extend_from_slice(extra);
    let body = json!({"email": email, "password": password});
    api.call("POST", "/api/v1/session", None, &headers, Some(&body))
        .await
}

/// The `name=value` pair of a `Set-Cookie` answer.
fn cookie_of(r: &Reply) -> String {
    let set = r.headers.get("set-cookie").expect("a cookie is set");
    set.split(';').next().expect("pair").to_owned()
}

async fn renew(api: &Api, cookie: &str) -> Reply {
    api.call(
        "POST",
        "/api/v1/session/refresh",
        None,
        &[CSRF, ("cookie", cookie)],
        None,
    )
    .await
}

#[tokio::test]
async fn the_browser_session_keeps_its_refresh_token_in_an_http_only_cookie() {
    let api = Api::start().await;
    let email = api.a.email(Role::CampaignManager).to_owned();

    // No CSRF header, or a page of another origin: refused before anything.
    let body = json!({"email": email, "password": PASSWORD});
    let bare = api
        .call("POST", "/api/v1/session", None, &[], Some(&body))
        .await;
    assert_eq!(
        (bare.status, bare.code()),
        (403, "forbidden"),
        "{}",
        bare.body
    );
    let evil = open_session(&api, &email, PASSWORD, &[("origin", "http://evil.example")]).await;
    assert_eq!(evil.status, 403, "{}", evil.body);
    let wrong = open_session(&api, &email, "not the password", &[]).await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));

    let s = open_session(&api, &email, PASSWORD, &[]).await;
    assert_eq!(s.status, 200, "{}", s.body);
    assert_eq!(s.body["user"]["email"], email.as_str());
    assert_eq!(s.body["user"]["role"], "campaign_manager");
    assert_eq!(s.body["user"]["tenant_id"], api.a.id.to_string());
    assert!(s.body.get("refresh_token").is_none(), "no script sees it");
    let set = &s.headers["set-cookie"];
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/session"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP here: {set}");
    let access = s.body["access_token"].as_str().expect("access");
    let list = api
        .call("GET", "/api/v1/campaigns", Some(access), &[], None)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);

    // Renewal rotates the cookie; the old one presented again ends the login.
    let first = cookie_of(&s);
    let renewed = renew(&api, &first).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let second = cookie_of(&renewed);
    assert_ne!(first, second);
    let reused = renew(&api, &first).await;
    assert_eq!((reused.status, reused.code()), (401, "refresh_reused"));
    assert_eq!(
        renew(&api, &second).await.status,
        401,
        "the whole login is revoked"
    );
    let none = api
        .call("POST", "/api/v1/session/refresh", None, &[CSRF], None)
        .await;
    assert_eq!((none.status, none.code()), (401, "no_session"));

    // Logout revokes and clears the cookie; behind TLS the cookie is Secure.
    let tls = [("x-forwarded-proto", "https")];
    let s = open_session(&api, &email, PASSWORD, &tls).await;
    assert!(
        s.headers["set-cookie"].ends_with("; Secure"),
        "{}",
        s.headers["set-cookie"]
    );
    let cookie = cookie_of(&s);
    let out = api
        .call(
            "DELETE",
            "/api/v1/session",
            None,
            &[CSRF, ("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(out.status, 204);
    assert!(out.headers["set-cookie"].contains("Max-Age=0"));
    let after = renew(&api, &cookie).await;
    assert_eq!(after.status, 401, "logged out: {}", after.body);
    api.stop().await;
}

/// A tiny PNG made here.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(320, 200, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

async fn upload(api: &Api, token: &str, campaign: &str, name: &str) -> Value {
    let boundary = "console-test";
    let mut body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\ncontent-type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&png());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let (status, _, bytes) = api
        .raw(
            "POST",
            &format!("/api/v1/campaigns/{campaign}/assets"),
            Some(token),
            &[],
            Some(&format!("multipart/form-data; boundary={boundary}")),
            body,
        )
        .await;
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert_eq!(status, 201, "{v}");
    v
}

async fn campaign(api: &Api, token: &str, name: &str) -> String {
    let body = json!({ "name": name });
    let r = api
        .call("POST", "/api/v1/campaigns", Some(token), &[], Some(&body))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn thumbnails_load_from_signed_urls_without_a_header_and_only_as_signed() {
    let api = Api::start().await;
    let token = api.token(&api.a, Role::CampaignManager).await;
    let c = campaign(&api, &token, "signed art").await;
    let made = upload(&api, &token, &c, "banner.png").await;
    for variant in ["w150", "w300", "original"] {
        let url = made["_links"][variant].as_str().expect("link");
        assert!(url.contains("sig=") && url.contains("exp="), "{url}");
        let (status, headers, bytes) = api.raw("GET", url, None, &[], None, Vec::new()).await;
        assert_eq!(
            status,
            200,
            "{variant}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let want = if variant == "original" {
            "image/png"
        } else {
            "image/webp"
        };
        assert_eq!(headers["content-type"], want);
    }
    // Tampered: another variant, tenant or signature is refused.
    let w150 = made["_links"]["w150"].as_str().expect("link");
    let other_variant = w150.replace("variant=w150", "variant=w300");
    let other_tenant = w150.replace(&api.a.id.to_string(), &api.b.id.to_string());
    let bad_sig = format!("{}x", &w150[..w150.len() - 1]);
    for url in [other_variant, other_tenant, bad_sig] {
        let (status, _, body) = api.raw("GET", &url, None, &[], None, Vec::new()).await;
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (401, Some("invalid_signature")),
            "{url}"
        );
    }
    // Without a signature the header is needed, as before.
    let plain = w150.split('?').next().expect("path");
    let (status, _, _) = api.raw("GET", plain, None, &[], None, Vec::new()).await;
    assert_eq!(status, 401);
    api.stop().await;
}

#[tokio::test]
async fn the_library_lists_every_creative_of_the_tenant_and_filters_them() {
    let api = Api::start().await;
    let token = api.token(&api.a, Role::CampaignManager).await;
    let (c1, c2) = (
        campaign(&api, &token, "one").await,
        campaign(&api, &token, "two").await,
    );
    for (c, name) in [
        (&c1, "spring.png"),
        (&c1, "summer.png"),
        (&c2, "Summer-2.png"),
    ] {
        upload(&api, &token, c, name).await;
    }
    let theirs = api.token(&api.b, Role::CampaignManager).await;
    let bc = campaign(&api, &theirs, "theirs").await;
    upload(&api, &theirs, &bc, "summer-b.png").await;

    let analyst = api.token(&api.a, Role::Analyst).await;
    let get = |q: String| {
        let (api, analyst) = (&api, &analyst);
        async move {
            api.call(
                "GET",
                &format!("/api/v1/creatives{q}"),
                Some(analyst),
                &[],
                None,
            )
            .await
        }
    };
    let names = |r: &Reply| -> Vec<String> {
        let mut n: Vec<String> = r.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|c| c["filename"].as_str().expect("name").to_owned())
            .collect();
        n.sort();
        n
    };
    let all = get(String::new()).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["total"], 3);
    assert_eq!(names(&all), ["Summer-2.png", "spring.png", "summer.png"]);
    assert_eq!(
        names(&get(format!("?campaign_id={c2}")).await),
        ["Summer-2.png"]
    );
    assert_eq!(
        names(&get("?name=SUMMER".into()).await),
        ["Summer-2.png", "summer.png"]
    );
    assert_eq!(
        names(&get("?type=png&name=spr".into()).await),
        ["spring.png"]
    );
    assert_eq!(get("?type=gif".into()).await.body["total"], 0);

    // Paged two at a time: the same three, newest first.
    let first = get("?limit=2".into()).await;
    let cursor = first.body["next_cursor"].as_str().expect("more").to_owned();
    let second = get(format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second.body["next_cursor"], Value::Null);
    let paged: Vec<&Value> = first.body["data"]
        .as_array()
        .expect("page")
        .iter()
        .chain(second.body["data"].as_array().expect("page"))
        .collect();
    let ids = |v: Vec<&Value>| v.iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(paged),
        ids(all.body["data"].as_array().expect("all").iter().collect())
    );

    api.stop().await;
}

#[tokio::test]
async fn library_queries_are_checked_field_by_field() {
    let api = Api::start().await;
    let analyst = api.token(&api.a, Role::Analyst).await;
    let get = |q: String| {
        let (api, analyst) = (&api, &analyst);
        async move {
            api.call(
                "GET",
                &format!("/api/v1/creatives{q}"),
                Some(analyst),
                &[],
                None,
            )
            .await
        }
    };
    for (q, field) in [
        ("?type=bmp", "type"),
        ("?limit=0", "limit"),
        ("?limit=201", "limit"),
        ("?campaign_id=nope", "campaign_id"),
        ("?name=", "name"),
    ] {
        let r = get(q.into()).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "validation_failed"),
            "{q}: {}",
            r.body
        );
        assert_eq!(r.body["error"]["errors"][0]["field"], field, "{q}");
    }
    assert_eq!(get("?colour=red".into()).await.status, 400);
    api.stop().await;
}

#[tokio::test]
async fn the_live_stream_opens_from_a_signed_url_of_its_own_campaign() {
    let live: Arc<dyn LiveCounters> = Arc::new(adpulse_embedded::MemoryLive::new());
    let api = Api::start_full(common::api_config(), Some(live), None).await;
    let token = api.token(&api.a, Role::Analyst).await;
    let manager = api.token(&api.a, Role::CampaignManager).await;
    let c = campaign(&api, &manager, "live").await;
    let r = api
        .call(
            "POST",
            &format!("/api/v1/campaigns/{c}/realtime/stream-url"),
            Some(&token),
            &[],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["expires_in"], 300);
    let url = r.body["url"].as_str().expect("url");
    assert!(
        url.starts_with(&format!("/api/v1/campaigns/{c}/realtime/stream?")),
        "{url}"
    );

    // Opened without any header, it streams the campaign's view.
    let req = hyper::Request::get(format!("{}{url}", api.url))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let res = client.request(req).await.expect("response");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body();
    let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
        .await
        .expect("the first event within 10 s")
        .expect("a frame")
        .expect("bytes");
    let text = String::from_utf8_lossy(frame.data_ref().expect("data")).into_owned();
    assert!(text.contains("event: update"), "{text}");

    // Another campaign's path with this signature, or a forged one: refused.
    let other = campaign(&api, &manager, "other").await;
    let moved = url.replace(&c, &other);
    let (status, _, _) = api.raw("GET", &moved, None, &[], None, Vec::new()).await;
    assert_eq!(status, 401);
    let b_token = api.token(&api.b, Role::Analyst).await;
    let theirs = api
        .call(
            "POST",
            &format!("/api/v1/campaigns/{c}/realtime/stream-url"),
            Some(&b_token),
            &[],
            None,
        )
        .await;
    assert_eq!(theirs.status, 404, "another tenant's campaign");
    api.stop().await;
}

#[tokio::test]
async fn the_console_is_served_at_the_root_and_the_api_keeps_its_errors() {
    let api = Api::start().await;
    for page in ["/", "/campaigns", "/creatives/anything"] {
        let (status, headers, body) = api.raw("GET", page, None, &[], None, Vec::new()).await;
        let built = adpulse_console::is_built();
        assert_eq!(status, if built { 200 } else { 503 }, "{page}");
        assert!(headers["content-type"].starts_with("text/html"), "{page}");
        assert_eq!(
            headers["cache-control"], "no-store",
            "index.html is never cached"
        );
        assert_eq!(headers["content-security-policy"], adpulse_console::CSP);
        let html = String::from_utf8_lossy(&body);
        assert!(html.to_lowercase().starts_with("<!doctype html>"), "{html}");
    }
    let (status, _, body) = api
        .raw(
            "GET",
            "/assets/missing-0000.js",
            None,
            &[],
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("not_found"));
    let r = api
        .call("GET", "/api/v1/no-such-thing", None, &[], None)
        .await;
    assert_eq!((r.status, r.code()), (404, "not_found"));
    assert_eq!(
        r.headers["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    let r = api.call("POST", "/campaigns", None, &[], None).await;
    assert_eq!(r.status, 404, "the console answers GET only");
    api.stop().await;
}
