//! The object-storage port, `AssetStore`: one set of assertions run on a
//! temporary folder (the embedded mode's store) and on the local stack's S3
//! server (a prefix of its own in the stack's bucket), so both answer the
//! API's calls the same way: bytes round-trip exactly, a put replaces, a
//! missing object is `NotFound`, deletes are idempotent, a campaign's
//! listing holds its objects and nobody else's, and objects are named
//! `<prefix>/<campaign>/<creative>/<variant>`.

mod common;

use adpulse_api::assets::{AssetError, AssetStore};
use adpulse_domain::CampaignId;
use adpulse_testkit::{S3Account, unique_name};
use common::assets::AssetPlace as Place;
use uuid::Uuid;

/// Bytes that are not text: every byte value, then a pattern of `len`.
fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..=255u8)
        .chain((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)))
        .collect()
}

fn campaign() -> CampaignId {
    CampaignId::from_uuid(Uuid::new_v4())
}

fn is_not_found<T: std::fmt::Debug>(r: &Result<T, AssetError>) -> bool {
    matches!(r, Err(AssetError::NotFound))
}

/// The assertions every backend must pass.
async fn conformance(place: &Place) {
    let store = place.open();
    let (c1, c2) = (campaign(), campaign());
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    nothing_is_stored_yet(&store, c1, a).await;
    bytes_round_trip_exactly(&store, c1, a, b).await;
    let shorter = a_put_replaces_the_whole_object(&store, c1, a).await;
    variants_creatives_and_campaigns_are_separate(&store, (c1, c2), a, &shorter).await;
    listings_and_names_are_per_campaign(place, &store, (c1, c2), (a, b), &shorter).await;
    another_store_shares_nothing(place, &store, c1, a, &shorter).await;
    deletes_are_idempotent_and_leave_the_rest(&store, c1, a, b).await;
    concurrent_writers_all_land(&store, c2).await;
}

/// Nothing stored yet: a missing object is NotFound, a listing is empty.
async fn nothing_is_stored_yet(store: &AssetStore, c1: CampaignId, a: Uuid) {
    // Nothing stored yet: a missing object is NotFound, a listing is empty.
    let missing = store.get(c1, a, "original").await;
    assert!(is_not_found(&missing), "missing object: {missing:?}");
    assert_eq!(store.list(c1).await.expect("list"), vec![]);
}

/// Binary, empty and upload-sized objects round-trip byte for byte
/// (`a`'s original and w150, `b`'s original, in `c1`).
async fn bytes_round_trip_exactly(store: &AssetStore, c1: CampaignId, a: Uuid, b: Uuid) {
    // Round trip, byte for byte: binary, empty, and as large as an upload
    // may be (the API's default limit, 10 MiB).
    let original = bytes(1, 4096);
    store
        .put(c1, a, "original", original.clone())
        .await
        .expect("put");
    assert_eq!(
        store.get(c1, a, "original").await.expect("get").as_ref(),
        original.as_slice()
    );
    store.put(c1, a, "w150", Vec::new()).await.expect("put");
    assert!(store.get(c1, a, "w150").await.expect("get").is_empty());
    let large = bytes(7, 10 * 1024 * 1024 - 256);
    store
        .put(c1, b, "original", large.clone())
        .await
        .expect("put a large object");
    let back = store.get(c1, b, "original").await.expect("get");
    assert_eq!(back.len(), large.len());
    assert!(back.as_ref() == large.as_slice(), "large object differs");
}

/// A shorter put over `a`'s original leaves no old tail; returns the
/// shorter bytes, which the object now holds.
async fn a_put_replaces_the_whole_object(store: &AssetStore, c1: CampaignId, a: Uuid) -> Vec<u8> {
    // A put replaces the whole object: a shorter one leaves no old tail.
    let shorter = bytes(2, 10);
    store
        .put(c1, a, "original", shorter.clone())
        .await
        .expect("overwrite");
    assert_eq!(
        store.get(c1, a, "original").await.expect("get").as_ref(),
        shorter.as_slice()
    );

    shorter
}

/// `a`'s w300 in `c1` and `a`'s original in `c2` are objects of their
/// own: `c1`'s original still holds `shorter`, `c2` has no w300.
async fn variants_creatives_and_campaigns_are_separate(
    store: &AssetStore,
    (c1, c2): (CampaignId, CampaignId),
    a: Uuid,
    shorter: &[u8],
) {
    // Variants, creatives and campaigns are separate objects.
    store.put(c1, a, "w300", bytes(3, 300)).await.expect("put");
    store
        .put(c2, a, "original", bytes(4, 40))
        .await
        .expect("put the same creative id in another campaign");
    assert_eq!(
        store.get(c1, a, "original").await.expect("get").as_ref(),
        shorter
    );
    assert_eq!(
        store.get(c2, a, "original").await.expect("get").as_ref(),
        bytes(4, 40).as_slice()
    );
    let not_there = store.get(c2, a, "w300").await;
    assert!(is_not_found(&not_there), "{not_there:?}");
}

/// Each campaign lists its own objects, sorted; the objects are named
/// `<campaign>/<creative>/<variant>`, and the location spelled another
/// way is the same store.
async fn listings_and_names_are_per_campaign(
    place: &Place,
    store: &AssetStore,
    (c1, c2): (CampaignId, CampaignId),
    (a, b): (Uuid, Uuid),
    shorter: &[u8],
) {
    // A campaign's listing: its objects only, sorted.
    let mut expected = vec![
        (a, "original".to_owned()),
        (a, "w150".to_owned()),
        (a, "w300".to_owned()),
        (b, "original".to_owned()),
    ];
    expected.sort();
    assert_eq!(store.list(c1).await.expect("list"), expected);
    assert_eq!(
        store.list(c2).await.expect("list"),
        vec![(a, "original".to_owned())]
    );

    // The names the objects have, seen around the port.
    let mut names: Vec<String> = expected
        .iter()
        .map(|(creative, variant)| format!("{c1}/{creative}/{variant}"))
        .chain([format!("{c2}/{a}/original")])
        .collect();
    names.sort();
    assert_eq!(place.keys().await, names);

    // The location written another way is the same place.
    let same = place.open_at(&place.other_spelling());
    assert_eq!(
        same.get(c1, a, "original").await.expect("get").as_ref(),
        shorter
    );
}

/// Another store (another folder, another prefix) shares nothing with
/// this one, even under the same names.
async fn another_store_shares_nothing(
    place: &Place,
    store: &AssetStore,
    c1: CampaignId,
    a: Uuid,
    shorter: &[u8],
) {
    // Another store (another folder, another prefix in the same bucket)
    // shares nothing with this one, even under the same names.
    let neighbour_place = match place {
        Place::Folder(_) => Place::folder(),
        Place::S3 { .. } => Place::s3(),
    };
    let neighbour = neighbour_place.open();
    let got = neighbour.get(c1, a, "original").await;
    assert!(is_not_found(&got), "{got:?}");
    assert_eq!(neighbour.list(c1).await.expect("list"), vec![]);
    neighbour
        .put(c1, a, "original", bytes(5, 50))
        .await
        .expect("put");
    assert_eq!(
        store.get(c1, a, "original").await.expect("get").as_ref(),
        shorter
    );
    assert_eq!(
        neighbour.list(c1).await.expect("list"),
        vec![(a, "original".to_owned())]
    );
    neighbour_place.remove().await;
}

/// Deleting removes one object and leaves the other variants; deleting
/// again, or what was never stored, succeeds; `c1` ends empty.
async fn deletes_are_idempotent_and_leave_the_rest(
    store: &AssetStore,
    c1: CampaignId,
    a: Uuid,
    b: Uuid,
) {
    // Delete: gone, the other variants stay; deleting again, or what was
    // never stored, succeeds.
    store.delete(c1, a, "original").await.expect("delete");
    let gone = store.get(c1, a, "original").await;
    assert!(is_not_found(&gone), "{gone:?}");
    assert_eq!(
        store.get(c1, a, "w300").await.expect("get").as_ref(),
        bytes(3, 300).as_slice()
    );
    store.delete(c1, a, "original").await.expect("delete again");
    store
        .delete(c1, Uuid::now_v7(), "original")
        .await
        .expect("delete what was never stored");
    for variant in ["w150", "w300"] {
        store.delete(c1, a, variant).await.expect("delete");
    }
    store.delete(c1, b, "original").await.expect("delete");
    assert_eq!(store.list(c1).await.expect("list"), vec![]);
}

/// 16 concurrent writers of different creatives in `c2` all land, next
/// to the one object `c2` held.
async fn concurrent_writers_all_land(store: &AssetStore, c2: CampaignId) {
    // Concurrent writers of different creatives all land.
    let writes: Vec<_> = (0..16u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let id = Uuid::now_v7();
                store
                    .put(c2, id, "original", bytes(i, 1000 + usize::from(i)))
                    .await
                    .expect("concurrent put");
                (id, i)
            })
        })
        .collect();
    for w in writes {
        let (id, i) = w.await.expect("writer");
        assert_eq!(
            store.get(c2, id, "original").await.expect("get").as_ref(),
            bytes(i, 1000 + usize::from(i)).as_slice()
        );
    }
    assert_eq!(store.list(c2).await.expect("list").len(), 17);
}

#[tokio::test]
async fn folder_store_conforms() {
    let place = Place::folder();
    conformance(&place).await;
    place.remove().await;
}

#[tokio::test]
async fn s3_store_conforms() {
    let place = Place::s3();
    conformance(&place).await;
    place.remove().await;
}

/// A store that refuses the request (here: a wrong secret) is a failure the
/// API answers 503 to, never a missing object it would answer 404 to.
#[tokio::test]
async fn s3_refusal_is_unavailable_not_missing() {
    let account = S3Account::require();
    let location = format!("s3://{}/{}", account.bucket, unique_name("tests"));
    let store = AssetStore::open_with(
        &location,
        &[
            ("aws_endpoint", &account.endpoint),
            ("aws_access_key_id", &account.access_key_id),
            ("aws_secret_access_key", "not-the-secret"),
            ("aws_region", &account.region),
            ("aws_allow_http", "true"),
        ],
    )
    .expect("open");
    let c = campaign();
    let got = store.get(c, Uuid::now_v7(), "original").await;
    assert!(matches!(got, Err(AssetError::Unavailable(_))), "{got:?}");
    let put = store.put(c, Uuid::now_v7(), "original", vec![1]).await;
    assert!(matches!(put, Err(AssetError::Unavailable(_))), "{put:?}");
}

#[test]
fn unknown_s3_options_are_refused() {
    let err = AssetStore::open_with("s3://bucket/p", &[("aws_no_such_option", "x")])
        .err()
        .expect("an unknown option is an error");
    assert!(err.contains("aws_no_such_option"), "{err}");
}
