//! Frequency-capping counters: one hash per person, a field per calendar
//! window and campaign (or campaign and ad) named `{window end, base 36}:
//! {campaign}`; the hash expires at its furthest window's end, and ended
//! windows' fields are pruned as the person is decided again. Rolling
//! windows are a sorted set of impression times per person and campaign.
//! Every key of a person carries the person as its hash tag, so a batch of
//! decisions for one person (many candidate campaigns) is one script call,
//! on one Redis and on Redis Cluster alike. Check and increment happen
//! inside the script: atomic.
//!
//! When two ids turn out to be one person (a new identity link), what was
//! counted under the weaker id is added to the person's hash and then
//! subtracted from the weak id's: two scripts, since the two people live in
//! different slots. A crash between them counts twice (the safe side); a
//! reservation under the weak id racing the merge is kept.

use crate::{Redis, RedisError};

/// The window a request counts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapWindow {
    /// A calendar window ending at this Unix time, in milliseconds.
    Calendar {
        /// The window's end.
        end_ms: i64,
    },
    /// The last `length_ms` milliseconds.
    Rolling {
        /// The window's length.
        length_ms: i64,
    },
}

/// One decision to take for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapRequest {
    /// The campaign (compacted), or the campaign and `:ad`.
    pub field: String,
    /// Impressions allowed in the window.
    pub cap: u32,
    /// The window.
    pub window: CapWindow,
}

/// What Redis decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapOutcome {
    /// Reserved.
    pub allow: bool,
    /// Impressions counted in the window (this one included if allowed).
    pub count: u32,
}

/// Fields a person's hash may hold before ended windows are pruned.
const PRUNE_ABOVE: usize = 8;

const RESERVE: &str = r"
local out = {}
local now = tonumber(ARGV[1])
local prune_above = tonumber(ARGV[2])
local pruned = false
for i = 1, #KEYS do
  local base = 2 + (i - 1) * 4
  local field, cap, rolling, window = ARGV[base + 1], tonumber(ARGV[base + 2]), ARGV[base + 3], tonumber(ARGV[base + 4])
  local key = KEYS[i]
  if rolling == '1' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local n = redis.call('ZCARD', key)
    if n >= cap then
      out[#out + 1] = 0; out[#out + 1] = n
    else
      -- Members must be unique: the server clock's microseconds (scripts
      -- run one at a time) and the request's place in the batch.
      local t = redis.call('TIME')
      redis.call('ZADD', key, now, t[1] .. '.' .. t[2] .. ':' .. i)
      redis.call('PEXPIRE', key, window)
      out[#out + 1] = 1; out[#out + 1] = n + 1
    end
  else
    if not pruned and redis.call('HLEN', key) > prune_above then
      for _, f in ipairs(redis.call('HKEYS', key)) do
        local sep = string.find(f, ':', 1, true)
        local ends = sep and tonumber(string.sub(f, 1, sep - 1), 36)
        if ends and ends * 1000 <= now then redis.call('HDEL', key, f) end
      end
    end
    pruned = true
    local n = tonumber(redis.call('HGET', key, field) or '0')
    if n >= cap then
      out[#out + 1] = 0; out[#out + 1] = n
    else
      redis.call('HINCRBY', key, field, 1)
      local ttl = redis.call('PTTL', key)
      if ttl < 0 or now + ttl < window then redis.call('PEXPIREAT', key, window) end
      out[#out + 1] = 1; out[#out + 1] = n + 1
    end
  end
end
return out
";

const RELEASE: &str = r"
if ARGV[2] == '1' then
  local last = redis.call('ZRANGE', KEYS[1], -1, -1)
  if last[1] then redis.call('ZREM', KEYS[1], last[1]) end
  return 1
end
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return 1
";

/// Adds `field, count` pairs (ARGV[2..]) to the person's hash, keeping it
/// until at least ARGV[1] (ms).
const MERGE_INTO: &str = r"
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], tonumber(ARGV[i + 1]))
end
local until_ms = tonumber(ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if ttl < 0 or now_ms + ttl < until_ms then redis.call('PEXPIREAT', KEYS[1], until_ms) end
return 1
";

/// Subtracts the merged `field, count` pairs from the weak id's hash.
const MERGE_FROM: &str = r"
for i = 1, #ARGV, 2 do
  local left = redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
  if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[i]) end
end
return 1
";

/// `n` in base 36, as the script reads it back.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The hash field of a calendar request.
fn calendar_field(field: &str, end_ms: i64) -> String {
    format!(
        "{}:{field}",
        base36(u64::try_from(end_ms / 1000).unwrap_or(0))
    )
}

impl Redis {
    /// A person's hash, `fc{person}`: the person compacted to 16
    /// characters, as the hash tag (the name is short on purpose: one per
    /// active person).
    fn person_key(&self, person: &str) -> String {
        let person = adpulse_capping::identity::compact_person(person);
        self.key(&format!("fc{{{person}}}"))
    }

    /// The key a request counts in: the person's hash, or for a rolling
    /// window its own sorted set in the same slot.
    fn cap_key(&self, person: &str, r: &CapRequest) -> String {
        match r.window {
            CapWindow::Calendar { .. } => self.person_key(person),
            CapWindow::Rolling { length_ms } => {
                format!("{}:r:{}:{length_ms}", self.person_key(person), r.field)
            }
        }
    }

    /// The field and script arguments of a request.
    fn cap_args(r: &CapRequest) -> (String, &'static str, i64) {
        match r.window {
            CapWindow::Calendar { end_ms } => (calendar_field(&r.field, end_ms), "0", end_ms),
            CapWindow::Rolling { length_ms } => (r.field.clone(), "1", length_ms),
        }
    }

    /// Adds the calendar counts of `from` (an id now linked to `into`) for
    /// windows still open to `into`'s, then takes them off `from`'s.
    /// Rolling windows are not merged.
    pub async fn merge_caps(&self, from: &str, into: &str, now_ms: i64) -> Result<(), RedisError> {
        self.merge_many(&[(from.to_owned(), into.to_owned())], now_ms)
            .await
    }

    /// [`Redis::merge_caps`] for many `(from, into)` pairs: the weak ids'
    /// hashes read in one pipeline (one read each on a cluster), then the
    /// two scripts only for those holding open windows.
    pub async fn merge_many(
        &self,
        pairs: &[(String, String)],
        now_ms: i64,
    ) -> Result<(), RedisError> {
        let pairs: Vec<&(String, String)> = pairs.iter().filter(|(f, i)| f != i).collect();
        if pairs.is_empty() {
            return Ok(());
        }
        let mut c = self.connection();
        let sources: Vec<String> = pairs.iter().map(|(f, _)| self.person_key(f)).collect();
        let all: Vec<Vec<(String, i64)>> = if self.is_cluster() {
            let mut out = Vec::with_capacity(sources.len());
            for s in &sources {
                out.push(redis::cmd("HGETALL").arg(s).query_async(&mut c).await?);
            }
            out
        } else {
            let mut pipe = redis::pipe();
            for s in &sources {
                pipe.cmd("HGETALL").arg(s);
            }
            pipe.query_async(&mut c).await?
        };
        let end_of = |f: &str| {
            f.split_once(':')
                .and_then(|(end, _)| u64::from_str_radix(end, 36).ok())
                .and_then(|end| i64::try_from(end).ok())
                .map(|end| end.saturating_mul(1000))
        };
        for (((_, into), source), counts) in pairs.iter().zip(&sources).zip(all) {
            let open: Vec<(String, i64)> = counts
                .into_iter()
                .filter(|(f, n)| *n > 0 && end_of(f).is_some_and(|end| end > now_ms))
                .collect();
            let Some(until) = open.iter().filter_map(|(f, _)| end_of(f)).max() else {
                continue;
            };
            static ADD: std::sync::LazyLock<redis::Script> =
                std::sync::LazyLock::new(|| redis::Script::new(MERGE_INTO));
            static TAKE: std::sync::LazyLock<redis::Script> =
                std::sync::LazyLock::new(|| redis::Script::new(MERGE_FROM));
            let mut add = ADD.prepare_invoke();
            add.key(self.person_key(into)).arg(until);
            let mut take = TAKE.prepare_invoke();
            take.key(source);
            for (f, n) in &open {
                add.arg(f).arg(n);
                take.arg(f).arg(n);
            }
            let _: i64 = add.invoke_async(&mut c).await?;
            let _: i64 = take.invoke_async(&mut c).await?;
        }
        Ok(())
    }

    fn link_key(&self, weak: &str) -> String {
        format!(
            "{}:link:{}",
            self.prefix(),
            adpulse_capping::identity::compact_person(weak)
        )
    }

    /// The strong id each of `weak` is linked to (one answer per entry).
    pub async fn linked(&self, weak: &[String]) -> Result<Vec<Option<String>>, RedisError> {
        let mut c = self.connection();
        if weak.is_empty() {
            return Ok(Vec::new());
        }
        if self.is_cluster() {
            // The links sit in different slots: one GET each.
            let mut out = Vec::with_capacity(weak.len());
            for w in weak {
                out.push(
                    redis::cmd("GET")
                        .arg(self.link_key(w))
                        .query_async(&mut c)
                        .await?,
                );
            }
            return Ok(out);
        }
        let keys: Vec<String> = weak.iter().map(|w| self.link_key(w)).collect();
        Ok(redis::cmd("MGET").arg(keys).query_async(&mut c).await?)
    }

    /// Keeps every `(weak, strong)` link for `ttl_secs` from now; says for
    /// each whether it is new or moved (the weak id's counts are then to be
    /// merged into the strong id's: [`Redis::merge_caps`]).
    pub async fn learn_links(
        &self,
        links: &[(String, String)],
        ttl_secs: u64,
    ) -> Result<Vec<bool>, RedisError> {
        if links.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.connection();
        let set = |weak: &str, strong: &str| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(self.link_key(weak))
                .arg(strong)
                .arg("EX")
                .arg(ttl_secs)
                .arg("GET");
            cmd
        };
        let before: Vec<Option<String>> = if self.is_cluster() {
            // The links sit in different slots: one SET each.
            let mut out = Vec::with_capacity(links.len());
            for (weak, strong) in links {
                out.push(set(weak, strong).query_async(&mut c).await?);
            }
            out
        } else {
            let mut pipe = redis::pipe();
            for (weak, strong) in links {
                pipe.add_command(set(weak, strong));
            }
            pipe.query_async(&mut c).await?
        };
        Ok(links
            .iter()
            .zip(before)
            .map(|((_, strong), before)| before.as_deref() != Some(strong.as_str()))
            .collect())
    }

    /// Takes every decision of `requests` for `person` atomically, in one
    /// round trip; `now_ms` is the decision time.
    pub async fn reserve_caps(
        &self,
        person: &str,
        requests: &[CapRequest],
        now_ms: i64,
    ) -> Result<Vec<CapOutcome>, RedisError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        static SCRIPT: std::sync::LazyLock<redis::Script> =
            std::sync::LazyLock::new(|| redis::Script::new(RESERVE));
        let mut call = SCRIPT.prepare_invoke();
        call.arg(now_ms).arg(PRUNE_ABOVE);
        for r in requests {
            let (field, rolling, window) = Self::cap_args(r);
            call.key(self.cap_key(person, r))
                .arg(field)
                .arg(r.cap)
                .arg(rolling)
                .arg(window);
        }
        let flat: Vec<i64> = call.invoke_async(&mut self.connection()).await?;
        Ok(flat
            .chunks(2)
            .map(|c| CapOutcome {
                allow: c.first() == Some(&1),
                count: c.get(1).and_then(|n| u32::try_from(*n).ok()).unwrap_or(0),
            })
            .collect())
    }

    /// Gives back one reservation (an impression reserved but not served).
    pub async fn release_cap(&self, person: &str, request: &CapRequest) -> Result<(), RedisError> {
        let (field, rolling, _) = Self::cap_args(request);
        let _: i64 = redis::Script::new(RELEASE)
            .key(self.cap_key(person, request))
            .arg(field)
            .arg(rolling)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }
}

fn request(p: &adpulse_capping::plan::Planned) -> CapRequest {
    CapRequest {
        field: p.field.clone(),
        cap: p.cap,
        window: if p.window.rolling {
            CapWindow::Rolling {
                length_ms: (p.window.end - p.window.start).num_milliseconds(),
            }
        } else {
            CapWindow::Calendar {
                end_ms: p.window.end.timestamp_millis(),
            }
        },
    }
}

fn unavailable(e: RedisError) -> adpulse_capping::StoreError {
    adpulse_capping::StoreError::Unavailable(e.to_string())
}

#[async_trait::async_trait]
impl adpulse_capping::CapStore for Redis {
    async fn ping(&self) -> Result<(), adpulse_capping::StoreError> {
        Redis::ping(self).await.map_err(unavailable)
    }

    async fn reserve(
        &self,
        person: &str,
        planned: &[adpulse_capping::plan::Planned],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<adpulse_capping::Decision>, adpulse_capping::StoreError> {
        let requests: Vec<CapRequest> = planned.iter().map(request).collect();
        let out = self
            .reserve_caps(person, &requests, now.timestamp_millis())
            .await
            .map_err(unavailable)?;
        Ok(out
            .into_iter()
            .map(|o| adpulse_capping::Decision {
                allow: o.allow,
                count: o.count,
            })
            .collect())
    }

    async fn release(
        &self,
        person: &str,
        planned: &adpulse_capping::plan::Planned,
    ) -> Result<(), adpulse_capping::StoreError> {
        self.release_cap(person, &request(planned))
            .await
            .map_err(unavailable)
    }

    async fn merge(
        &self,
        from: &str,
        into: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), adpulse_capping::StoreError> {
        self.merge_caps(from, into, now.timestamp_millis())
            .await
            .map_err(unavailable)
    }

    async fn merge_many(
        &self,
        pairs: &[(String, String)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), adpulse_capping::StoreError> {
        Redis::merge_many(self, pairs, now.timestamp_millis())
            .await
            .map_err(unavailable)
    }
}

#[async_trait::async_trait]
impl adpulse_capping::identity::LinkStore for Redis {
    async fn linked(
        &self,
        weak: &[String],
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<Option<String>>, adpulse_capping::StoreError> {
        Redis::linked(self, weak).await.map_err(unavailable)
    }

    async fn learn(
        &self,
        links: &[(String, String)],
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<bool>, adpulse_capping::StoreError> {
        let ttl = (until - chrono::Utc::now()).num_seconds().max(1);
        self.learn_links(links, ttl.unsigned_abs())
            .await
            .map_err(unavailable)
    }
}
