//! Shared test support for the `adpulse` binary's tests.

pub mod http;
pub mod platform;
pub mod receiver;
pub mod site;
pub mod worker;

/// One `#[tokio::test]` per mode for each named `async fn(&Platform)` of
/// the calling file (which imports `Platform`): `embedded::NAME` on
/// `adpulse up`, `distributed::NAME` on the local stack, the same
/// assertions in both.
#[allow(unused_macros)]
macro_rules! in_both_modes {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let p = super::Platform::embedded().await;
                    super::$test(&p).await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    let p = super::Platform::distributed().await;
                    super::$test(&p).await;
                }
            )*
        }
    };
}
