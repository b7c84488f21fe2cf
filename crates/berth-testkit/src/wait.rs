//! Waiting for a condition with a deadline: the one poll loop every test uses.
//!
//! A check returns a `bool`, an `Option<T>` or a `Result<T, E>`; a timeout is an error naming
//! what was awaited and, for a `Result`, the last error seen.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::HarnessError;

/// What one call of a check tells [`wait_until`]: done (with a value), or not yet (with what it
/// saw, when it can say).
pub trait Outcome {
    type Value;
    /// `Ok` when the wait is over; `Err` with the observation (if any) otherwise.
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl Outcome for bool {
    type Value = ();
    fn into_result(self) -> Result<(), Option<String>> {
        if self {
            Ok(())
        } else {
            Err(None)
        }
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Outcome for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// Backs off from 20 ms to 250 ms between checks.
struct Poll {
    start: Instant,
    deadline: Duration,
    pause: Duration,
    last: Option<String>,
}

impl Poll {
    fn new(deadline: Duration) -> Poll {
        Poll {
            start: Instant::now(),
            deadline,
            pause: Duration::from_millis(20),
            last: None,
        }
    }

    /// The value if `outcome` ends the wait, else the pause before the next check (or the
    /// timeout).
    fn step<O: Outcome>(
        &mut self,
        what: &str,
        outcome: O,
    ) -> Result<Result<O::Value, Duration>, HarnessError> {
        match outcome.into_result() {
            Ok(value) => return Ok(Ok(value)),
            Err(Some(seen)) => self.last = Some(seen),
            Err(None) => {}
        }
        let waited = self.start.elapsed();
        if waited >= self.deadline {
            return Err(HarnessError::Timeout {
                what: what.to_owned(),
                waited,
                last: self.last.take(),
            });
        }
        let pause = self.pause.min(self.deadline - waited);
        self.pause = (self.pause * 2).min(Duration::from_millis(250));
        Ok(Err(pause))
    }
}

/// Calls `check` until it says done (`true`, `Some`, `Ok`), backing off from 20 ms to 250 ms
/// between calls; fails with [`HarnessError::Timeout`] naming `what` (and the last `Err` seen)
/// once `deadline` has passed.
pub fn wait_until<O: Outcome>(
    deadline: Duration,
    what: &str,
    mut check: impl FnMut() -> O,
) -> Result<O::Value, HarnessError> {
    let mut poll = Poll::new(deadline);
    loop {
        match poll.step(what, check())? {
            Ok(value) => return Ok(value),
            Err(pause) => std::thread::sleep(pause),
        }
    }
}

/// [`wait_until`] for an async check, sleeping on tokio's timer between calls.
pub async fn wait_until_async<O, F, Fut>(
    deadline: Duration,
    what: &str,
    mut check: F,
) -> Result<O::Value, HarnessError>
where
    O: Outcome,
    F: FnMut() -> Fut,
    Fut: Future<Output = O>,
{
    let mut poll = Poll::new(deadline);
    loop {
        match poll.step(what, check().await)? {
            Ok(value) => return Ok(value),
            Err(pause) => tokio::time::sleep(pause).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_the_first_some() {
        let mut calls = 0;
        let got = wait_until(Duration::from_secs(5), "third call", || {
            calls += 1;
            (calls == 3).then_some(calls)
        });
        assert_eq!(got.unwrap(), 3);
    }

    #[test]
    fn wait_until_takes_a_bool() {
        let mut calls = 0;
        wait_until(Duration::from_secs(5), "second call", || {
            calls += 1;
            calls == 2
        })
        .unwrap();
        assert_eq!(calls, 2);
    }

    #[test]
    fn wait_until_times_out_with_the_name() {
        let err = wait_until(Duration::from_millis(50), "never", || None::<()>).unwrap_err();
        assert!(err.to_string().contains("never"), "{err}");
    }

    #[test]
    fn a_timeout_says_the_last_error_seen() {
        let mut calls = 0;
        let err = wait_until(Duration::from_millis(50), "the port", || {
            calls += 1;
            Err::<(), _>(format!("refused #{calls}"))
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("the port"), "{text}");
        assert!(text.contains(&format!("refused #{calls}")), "{text}");
    }

    #[tokio::test]
    async fn wait_until_async_returns_the_first_ok() {
        let mut calls = 0;
        let got = wait_until_async(Duration::from_secs(5), "third call", || {
            calls += 1;
            let n = calls;
            async move {
                if n == 3 {
                    Ok(n)
                } else {
                    Err("not yet")
                }
            }
        })
        .await;
        assert_eq!(got.unwrap(), 3);
    }

    #[tokio::test]
    async fn wait_until_async_times_out_with_the_name() {
        let err = wait_until_async(Duration::from_millis(50), "never", || async { false })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("never"), "{err}");
    }
}
