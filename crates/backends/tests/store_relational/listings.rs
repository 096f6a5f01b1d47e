//! Listings: filters, every sort both ways, offset and cursor pages and
//! totals agree on both adapters; name cursors fold case as the sort does.

use crate::support::*;

conformance!("rel", Some(3);
    listings_filter_sort_and_page_alike,
    name_cursors_fold_case_as_the_sort_does,
);

async fn listings_filter_sort_and_page_alike(env: &Env) {
    let a = tenant(env, "a").await;
    let b = tenant(env, "b").await;
    let all = ten_campaigns_in_mixed_states(env, a).await;
    let theirs = never_listed(env, a, b).await;
    every_sort_pages_alike(env, a, &all).await;
    every_filter_agrees(env, a, &all).await;
    b_lists_its_own_and_bad_cursors_are_refused(env, (a, b), &all, &theirs).await;
}

/// The fixture: ten campaigns of `a`, some with their status changed.
async fn ten_campaigns_in_mixed_states(env: &Env, a: TenantId) -> Vec<CampaignRecord> {
    // Names in mixed case (the name sort and filter ignore it), equal
    // budgets (the id breaks ties), wildcards taken literally.
    let specs: [Spec; 10] = [
        (
            "alpha",
            Some("acme"),
            Some(300),
            Some(("2026-12-01T00:00:00Z", "2026-12-10T00:00:00Z")),
        ),
        ("Bravo SALE", Some("acme"), None, None),
        (
            "charlie",
            Some("zeta"),
            Some(100),
            Some(("2026-12-05T00:00:00Z", "2026-12-20T00:00:00Z")),
        ),
        (
            "delta sale",
            None,
            Some(300),
            Some(("2027-01-01T00:00:00Z", "2027-02-01T00:00:00Z")),
        ),
        ("Echo", Some("zeta"), Some(0), None),
        (
            "deal 50% off",
            Some("acme"),
            Some(100),
            Some(("2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z")),
        ),
        ("deal 500 off", None, None, None),
        ("under_score", None, Some(999), None),
        ("underXscore", Some("acme"), Some(1), None),
        ("Ärger", Some("zeta"), Some(50), None),
    ];
    let mut all = Vec::new();
    for (name, brand, budget, schedule) in specs {
        let w = CampaignWrite {
            brand_id: brand.map(str::to_owned),
            budget_total_micros: budget,
            schedule_start: schedule.map(|s| at(s.0)),
            schedule_end: schedule.map(|s| at(s.1)),
            ..named(name)
        };
        all.push(env.api.insert_campaign(a, &w).await.expect("insert"));
    }
    // Statuses, and changes so updated_at differs from created_at order.
    for (i, to) in [
        (4, CampaignStatus::Active),
        (1, CampaignStatus::Active),
        (7, CampaignStatus::Scheduled),
        (2, CampaignStatus::Active),
    ] {
        all[i] = done(
            env.api
                .set_campaign_status(a, all[i].id, all[i].version, to)
                .await
                .expect("status"),
        );
    }
    all[2] = done(
        env.api
            .set_campaign_status(a, all[2].id, all[2].version, CampaignStatus::Paused)
            .await
            .expect("status"),
    );
    all
}

/// A deleted campaign of `a` and one of `b`, which `a` never lists;
/// returns `b`'s.
async fn never_listed(env: &Env, a: TenantId, b: TenantId) -> CampaignRecord {
    // A deleted campaign and another tenant's are never listed.
    let gone = env
        .api
        .insert_campaign(a, &named("alpha gone"))
        .await
        .expect("insert");
    done(
        env.api
            .delete_campaign_at(a, gone.id, 1)
            .await
            .expect("delete"),
    );
    env.api
        .insert_campaign(b, &named("alpha b"))
        .await
        .expect("insert")
}

/// Every sort, both ways, pages alike by offset and by cursor with the
/// same total; whole records come back as stored.
async fn every_sort_pages_alike(env: &Env, a: TenantId, all: &[CampaignRecord]) {
    let everything = CampaignFilter::default();
    for sort in CampaignSort::ALL {
        for descending in [false, true] {
            let want = expected(all, &everything, sort, descending);
            assert_eq!(want.len(), 10);
            let what = format!("{} descending={descending}", sort.as_str());

            let mut by_offset = Vec::new();
            for offset in [0, 4, 8, 12] {
                let (rows, total) = list(
                    env,
                    a,
                    &everything,
                    sort,
                    descending,
                    &Page::Offset(offset),
                    4,
                )
                .await;
                assert_eq!(total, 10, "{what}");
                by_offset.extend(rows.iter().map(|c| c.id));
            }
            assert_eq!(by_offset, want, "offset pages, {what}");

            let (mut rows, total) =
                list(env, a, &everything, sort, descending, &Page::Offset(0), 2).await;
            assert_eq!(total, 10);
            let mut by_cursor: Vec<CampaignId> = rows.iter().map(|c| c.id).collect();
            while let Some(last) = rows.last() {
                let page = Page::After {
                    value: sort.value_of(last),
                    id: last.id,
                };
                let (next, total) = list(env, a, &everything, sort, descending, &page, 2).await;
                assert_eq!(total, 10, "the total ignores the cursor, {what}");
                by_cursor.extend(next.iter().map(|c| c.id));
                rows = next;
            }
            assert_eq!(by_cursor, want, "cursor pages, {what}");
        }
    }

    // Whole records come back as stored.
    let (rows, _) = list(
        env,
        a,
        &everything,
        CampaignSort::CreatedAt,
        false,
        &Page::Offset(0),
        100,
    )
    .await;
    let mut stored = all.to_vec();
    stored.sort_by_key(|c| (c.created_at, *c.id.as_uuid()));
    assert_eq!(rows, stored);
}

/// Each filter, alone and combined, lists what [`expected`] computes.
async fn every_filter_agrees(env: &Env, a: TenantId, all: &[CampaignRecord]) {
    let filters = filters();
    let sizes: Vec<usize> = filters
        .iter()
        .map(|f| expected(all, f, CampaignSort::Name, false).len())
        .collect();
    assert_eq!(
        sizes,
        [3, 6, 4, 2, 1, 1, 1, 10, 9, 8, 8, 1, 0],
        "the fixture exercises every filter"
    );
    for (i, f) in filters.iter().enumerate() {
        let want = expected(all, f, CampaignSort::Name, false);
        let (rows, total) = list(env, a, f, CampaignSort::Name, false, &Page::Offset(0), 2).await;
        assert_eq!(total, want.len() as i64, "filter {i}: {f:?}");
        let got: Vec<CampaignId> = rows.iter().map(|c| c.id).collect();
        assert_eq!(
            got,
            want.iter().take(2).copied().collect::<Vec<_>>(),
            "filter {i}: {f:?}"
        );
    }
}

/// The filters [`every_filter_agrees`] lists with: each one alone, wildcards
/// and case in names, schedule overlaps, a combination, and one that matches
/// nothing.
fn filters() -> [CampaignFilter; 13] {
    [
        CampaignFilter {
            statuses: vec![CampaignStatus::Active, CampaignStatus::Paused],
            ..CampaignFilter::default()
        },
        CampaignFilter {
            statuses: vec![CampaignStatus::Draft],
            ..CampaignFilter::default()
        },
        CampaignFilter {
            brand_id: Some("acme".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("SaLe".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("50%".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("r_s".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some("äRG".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            name: Some(String::new()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            from: Some(at("2026-12-10T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            to: Some(at("2026-12-05T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            from: Some(at("2026-12-06T00:00:00Z")),
            to: Some(at("2027-01-01T00:00:00Z")),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            statuses: vec![CampaignStatus::Active],
            brand_id: Some("acme".into()),
            name: Some("bra".into()),
            ..CampaignFilter::default()
        },
        CampaignFilter {
            brand_id: Some("nobody".into()),
            ..CampaignFilter::default()
        },
    ]
}

/// `b` lists only its own campaign; a cursor that is not a time is refused.
async fn b_lists_its_own_and_bad_cursors_are_refused(
    env: &Env,
    (a, b): (TenantId, TenantId),
    all: &[CampaignRecord],
    theirs: &CampaignRecord,
) {
    let everything = CampaignFilter::default();
    let (rows, total) = list(
        env,
        b,
        &everything,
        CampaignSort::Name,
        false,
        &Page::Offset(0),
        100,
    )
    .await;
    assert_eq!(total, 1);
    assert_eq!(
        rows.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![theirs.id]
    );

    let bad_cursor = Page::After {
        // (Postgres would read "yesterday" as a time; the API accepts only
        // RFC 3339 in cursors, as SQLite does.)
        value: "not a time".into(),
        id: all[0].id,
    };
    let r = env
        .api
        .list_campaigns(
            a,
            &everything,
            CampaignSort::CreatedAt,
            false,
            &bad_cursor,
            10,
        )
        .await;
    assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
}

/// Paging by name one campaign at a time visits each exactly once, also
/// for names whose lower case differs between one-character folding (the
/// sort) and `str::to_lowercase` (a final `Σ`, a dotted `İ`).
async fn name_cursors_fold_case_as_the_sort_does(env: &Env) {
    let t = tenant(env, "fold").await;
    let names = ["ΟΔΟΣ", "οδοσ b", "İSTANBUL", "istanbul b", "Zeta", "ΟΔΟΣ a"];
    let mut ids = std::collections::BTreeSet::new();
    for n in names {
        ids.insert(
            env.api
                .insert_campaign(t, &named(n))
                .await
                .expect("insert")
                .id,
        );
    }
    for descending in [false, true] {
        let mut seen = Vec::new();
        let mut page = Page::Offset(0);
        loop {
            let (rows, total) = list(
                env,
                t,
                &CampaignFilter::default(),
                CampaignSort::Name,
                descending,
                &page,
                1,
            )
            .await;
            assert_eq!(total, 6);
            let Some(last) = rows.last() else { break };
            seen.push(last.id);
            page = Page::After {
                value: CampaignSort::Name.value_of(last),
                id: last.id,
            };
            assert!(seen.len() <= 6, "paging repeats: {seen:?}");
        }
        assert_eq!(
            seen.iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            ids,
            "every campaign once (descending: {descending})"
        );
    }
}
