//! Creatives through the API: the type sniffed from the bytes, thumbnails
//! made and stored, bytes served with caching, limits, roles and tenants;
//! with the bytes in a folder and on the local stack's S3 server.

mod common;

use std::io::Cursor;

use adpulse_domain::Role;
use common::Api;
use serde_json::{Value, json};

const BOUNDARY: &str = "adpulse-test-boundary";

fn multipart(field: &str, filename: &str, claimed_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\ncontent-type: {claimed_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn image(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    // Noise, so it does not compress away.
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let n =
            (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).wrapping_mul(2_246_822_519);
        image::Rgb([(n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut Cursor::new(&mut out), format)
        .expect("encode");
    out
}

async fn upload(api: &Api, token: &str, campaign: &str, body: Vec<u8>) -> (u16, Value) {
    let (status, _, bytes) = api
        .raw(
            "POST",
            &format!("/api/v1/campaigns/{campaign}/assets"),
            Some(token),
            &[],
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            body,
        )
        .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn creatives_are_sniffed_thumbnailed_stored_and_served() {
    creatives(common::api_config()).await;
}

#[tokio::test]
async fn creatives_on_s3_are_sniffed_thumbnailed_stored_and_served() {
    creatives(common::api_config_s3()).await;
}

async fn creatives(cfg: adpulse_config::ApiConfig) {
    let api = Api::start_with(cfg).await;
    let t = api.token(&api.a, Role::CampaignManager).await;
    let c = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(&t),
            &[],
            Some(&json!({"name": "with creatives"})),
        )
        .await;
    let campaign = c.body["id"].as_str().expect("id").to_owned();

    let png = image(640, 480, image::ImageFormat::Png);
    let made = the_type_is_sniffed_from_the_bytes(&api, &t, &campaign, &png).await;
    let original = the_original_and_its_thumbnails_are_served(&api, &t, &made, &png).await;
    let small = a_small_jpeg_is_not_enlarged(&api, &t, &campaign).await;
    what_is_not_an_image_is_refused(&api, &t, &campaign, &png).await;
    the_listing_is_newest_first_by_cursor(&api, &t, &campaign, &made, &small).await;
    let asset = made["_links"]["self"].as_str().expect("self").to_owned();
    other_tenants_and_analysts_cannot_touch_it(&api, &campaign, &original, &asset, &png).await;
    a_deleted_campaign_s_creatives_are_not_served(&api, &t, &png).await;
    a_deleted_creative_leaves_the_catalogue_and_storage(
        &api, &t, &campaign, &asset, &original, &small,
    )
    .await;
    api.stop().await;
}

/// A PNG announced as a GIF (with a path in its name) is stored as a PNG
/// of its size, under its bare file name; returns the creative.
async fn the_type_is_sniffed_from_the_bytes(
    api: &Api,
    t: &str,
    campaign: &str,
    png: &[u8],
) -> Value {
    // A PNG announced as a GIF: stored as what its bytes are.
    let (status, made) = upload(
        api,
        t,
        campaign,
        multipart("file", "../../banner.png", "image/gif", png),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["content_type"], "image/png");
    assert_eq!(
        (made["width"].as_i64(), made["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(made["filename"], "banner.png", "no path parts kept");
    assert_eq!(made["size_bytes"].as_u64(), Some(png.len() as u64));

    made
}

/// The original comes back byte for byte and cacheable (304 for its
/// ETag); thumbnails are WebP of 150 and 300 px; an unknown variant is
/// 422. Returns the original's link.
async fn the_original_and_its_thumbnails_are_served(
    api: &Api,
    t: &str,
    made: &Value,
    png: &[u8],
) -> String {
    // The original comes back byte for byte, cacheable; thumbnails are WebP
    // at 150 and 300 px wide, aspect kept.
    let original = made["_links"]["original"]
        .as_str()
        .expect("link")
        .to_owned();
    let (s, h, bytes) = api
        .raw("GET", &original, Some(t), &[], None, Vec::new())
        .await;
    assert_eq!(s, 200);
    assert_eq!(bytes.as_ref(), png);
    assert_eq!(h["content-type"], "image/png");
    assert!(h["cache-control"].contains("immutable"));
    let (s, _, _) = api
        .raw(
            "GET",
            &original,
            Some(t),
            &[("if-none-match", &h["etag"])],
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, 304);
    for (variant, width, height) in [("w150", 150, 112), ("w300", 300, 225)] {
        let link = made["_links"][variant].as_str().expect("thumb").to_owned();
        let (s, h, bytes) = api.raw("GET", &link, Some(t), &[], None, Vec::new()).await;
        assert_eq!(
            (s, h["content-type"].as_str()),
            (200, "image/webp"),
            "{variant}"
        );
        let thumb =
            image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP).expect("webp");
        assert_eq!(
            (thumb.width(), thumb.height()),
            (width, height),
            "{variant}"
        );
    }
    let (s, _, _) = api
        .raw(
            "GET",
            &format!(
                "{}?variant=w999",
                original.split('?').next().expect("the path")
            ),
            Some(t),
            &[],
            None,
            Vec::new(),
        )
        .await;
    assert_eq!(s, 422);

    original
}

/// A JPEG smaller than the thumbnails keeps its size in them; returns the
/// creative.
async fn a_small_jpeg_is_not_enlarged(api: &Api, t: &str, campaign: &str) -> Value {
    // A JPEG smaller than the thumbnails is not enlarged.
    let jpeg = image(100, 50, image::ImageFormat::Jpeg);
    let (status, small) = upload(
        api,
        t,
        campaign,
        multipart("file", "small.jpg", "application/octet-stream", &jpeg),
    )
    .await;
    assert_eq!(
        (status, small["content_type"].as_str()),
        (201, Some("image/jpeg"))
    );
    let (_, _, bytes) = api
        .raw(
            "GET",
            small["_links"]["w300"].as_str().expect("l"),
            Some(t),
            &[],
            None,
            Vec::new(),
        )
        .await;
    let thumb = image::load_from_memory(&bytes).expect("webp");
    assert_eq!((thumb.width(), thumb.height()), (100, 50));

    small
}

/// Text, a truncated PNG, an SVG, the wrong form field and a zero-pixel
/// GIF are 422; a body that is not multipart is 400.
async fn what_is_not_an_image_is_refused(api: &Api, t: &str, campaign: &str, png: &[u8]) {
    // Not images, or not what they claim: refused, nothing stored.
    for (what, body) in [
        (
            "text as png",
            multipart(
                "file",
                "x.png",
                "image/png",
                b"just some text, not an image",
            ),
        ),
        (
            "truncated png",
            multipart("file", "t.png", "image/png", &png[..200]),
        ),
        (
            "svg",
            multipart(
                "file",
                "x.svg",
                "image/svg+xml",
                b"<svg xmlns='http://www.w3.org/2000/svg'/>",
            ),
        ),
        (
            "wrong field",
            multipart("picture", "x.png", "image/png", png),
        ),
        // A GIF whose screen is 0x0 (with a 1x1 frame) decodes to no pixels.
        (
            "zero-pixel gif",
            multipart(
                "file",
                "zero.gif",
                "image/gif",
                &[
                    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0xff,
                    0xff, 0xff, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00,
                    0x3b,
                ],
            ),
        ),
    ] {
        let (status, body) = upload(api, t, campaign, body).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (422, Some("validation_failed")),
            "{what}: {body}"
        );
    }
    let (status, _) = upload(api, t, campaign, b"not multipart at all".to_vec()).await;
    assert_eq!(status, 400);
}

/// The listing holds both creatives, newest first, one page at a time.
async fn the_listing_is_newest_first_by_cursor(
    api: &Api,
    t: &str,
    campaign: &str,
    made: &Value,
    small: &Value,
) {
    // Listing, newest first, by cursor.
    let page = api
        .call(
            "GET",
            &format!("/api/v1/campaigns/{campaign}/assets?limit=1"),
            Some(t),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["total"], 2);
    assert_eq!(page.body["data"][0]["id"], small["id"]);
    let cursor = page.body["next_cursor"].as_str().expect("cursor");
    let next = api
        .call(
            "GET",
            &format!("/api/v1/campaigns/{campaign}/assets?limit=1&cursor={cursor}"),
            Some(t),
            &[],
            None,
        )
        .await;
    assert_eq!(next.body["data"][0]["id"], made["id"]);
}

/// Another tenant gets 404 reading, uploading and deleting; an analyst
/// gets 403 uploading and deleting.
async fn other_tenants_and_analysts_cannot_touch_it(
    api: &Api,
    campaign: &str,
    original: &str,
    asset: &str,
    png: &[u8],
) {
    // Another tenant sees nothing; an analyst cannot upload or delete.
    // (The signed link itself is a capability, like any pre-signed URL,
    // for an hour or two: with its own token another tenant asks for the
    // path.)
    let other = api.token(&api.b, Role::Admin).await;
    let path = original.split('?').next().expect("the path");
    let (s, _, _) = api
        .raw("GET", path, Some(&other), &[], None, Vec::new())
        .await;
    assert_eq!(s, 404);
    let (s, _) = upload(
        api,
        &other,
        campaign,
        multipart("file", "x.png", "image/png", png),
    )
    .await;
    assert_eq!(s, 404);
    let analyst = api.token(&api.a, Role::Analyst).await;
    let (s, _) = upload(
        api,
        &analyst,
        campaign,
        multipart("file", "x.png", "image/png", png),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        api.call("DELETE", asset, Some(&analyst), &[], None)
            .await
            .status,
        403
    );
    assert_eq!(
        api.call("DELETE", asset, Some(&other), &[], None)
            .await
            .status,
        404
    );
}

/// A creative of a campaign deleted (with `If-Match: *`) is not served.
async fn a_deleted_campaign_s_creatives_are_not_served(api: &Api, t: &str, png: &[u8]) {
    // Deleting the campaign hides its creatives too.
    let doomed = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(t),
            &[],
            Some(&json!({"name": "doomed"})),
        )
        .await;
    let doomed_id = doomed.body["id"].as_str().expect("id").to_owned();
    let (s, kept) = upload(
        api,
        t,
        &doomed_id,
        multipart("file", "d.png", "image/png", png),
    )
    .await;
    assert_eq!(s, 201);
    let kept_link = kept["_links"]["original"]
        .as_str()
        .expect("link")
        .to_owned();
    let del = api
        .call(
            "DELETE",
            &format!("/api/v1/campaigns/{doomed_id}"),
            Some(t),
            &[("if-match", "*")],
            None,
        )
        .await;
    assert_eq!(del.status, 204, "If-Match: * matches the current version");
    let (s, _, _) = api
        .raw("GET", &kept_link, Some(t), &[], None, Vec::new())
        .await;
    assert_eq!(s, 404, "a deleted campaign's creative is not served");
}

/// Deleting a creative removes it from the catalogue and its objects from
/// storage: only the small JPEG's are left.
async fn a_deleted_creative_leaves_the_catalogue_and_storage(
    api: &Api,
    t: &str,
    campaign: &str,
    asset: &str,
    original: &str,
    small: &Value,
) {
    // Delete: gone from the catalogue and from storage.
    assert_eq!(
        api.call("DELETE", asset, Some(t), &[], None).await.status,
        204
    );
    assert_eq!(api.call("GET", asset, Some(t), &[], None).await.status, 404);
    let (s, _, _) = api
        .raw("GET", original, Some(t), &[], None, Vec::new())
        .await;
    assert_eq!(s, 404);
    let small_id = small["id"].as_str().expect("id");
    let left: Vec<String> = api
        .assets
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with(&format!("{campaign}/")))
        .collect();
    assert_eq!(
        left,
        ["original", "w150", "w300"].map(|v| format!("{campaign}/{small_id}/{v}")),
        "only the small JPEG and its thumbnails are left"
    );
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused() {
    let cfg = adpulse_config::ApiConfig {
        max_asset_bytes: 20_000,
        ..common::api_config()
    };
    let api = Api::start_with(cfg).await;
    let t = api.token(&api.a, Role::Admin).await;
    let c = api
        .call(
            "POST",
            "/api/v1/campaigns",
            Some(&t),
            &[],
            Some(&json!({"name": "big"})),
        )
        .await;
    let campaign = c.body["id"].as_str().expect("id").to_owned();
    let big = image(400, 400, image::ImageFormat::Png);
    assert!(big.len() > 20_000);
    let (status, body) = upload(
        &api,
        &t,
        &campaign,
        multipart("file", "big.png", "image/png", &big),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    api.stop().await;
}
