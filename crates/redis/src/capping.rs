//! Frequency-capping counters: one hash per person and calendar window,
//! a field per campaign (or campaign and ad), expiring at the window's
//! end; rolling windows as a sorted set of impression times per person and
//! campaign. Every key of a person carries the person as its hash tag, so a
//! batch of decisions for one person (many candidate campaigns) is one
//! script call, on one Redis and on Redis Cluster alike. Check and
//! increment happen inside the script: atomic.

use crate::{Redis, RedisError};

/// One decision to take for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapRequest {
    /// The campaign (compacted), or the campaign and `:ad`.
    pub field: String,
    /// Impressions allowed in the window.
    pub cap: u32,
    /// Calendar window start (Unix seconds), or `None` for a rolling window.
    pub window_start: Option<i64>,
    /// Calendar: when the window ends; rolling: the window's length. Both
    /// in milliseconds (end as Unix time, length as a duration).
    pub window_ms: i64,
}

/// What Redis decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapOutcome {
    /// Reserved.
    pub allow: bool,
    /// Impressions counted in the window (this one included if allowed).
    pub count: u32,
}

const RESERVE: &str = r"
local out = {}
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 4
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
    local n = tonumber(redis.call('HGET', key, field) or '0')
    if n >= cap then
      out[#out + 1] = 0; out[#out + 1] = n
    else
      redis.call('HINCRBY', key, field, 1)
      redis.call('PEXPIREAT', key, window)
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

impl Redis {
    /// A person's counter key: the person compacted to 22 characters as the
    /// hash tag, then the window (its start, or the rolling field and
    /// length).
    fn cap_key(&self, person: &str, r: &CapRequest) -> String {
        let person = adpulse_capping::identity::compact_person(person);
        match r.window_start {
            Some(start) => self.key(&format!("cap:{{{person}}}:{start}")),
            None => self.key(&format!("cap:{{{person}}}:r:{}:{}", r.field, r.window_ms)),
        }
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

    /// Keeps every `(weak, strong)` link for `ttl_secs` from now.
    pub async fn learn_links(
        &self,
        links: &[(String, String)],
        ttl_secs: u64,
    ) -> Result<(), RedisError> {
        if links.is_empty() {
            return Ok(());
        }
        let mut c = self.connection();
        if self.is_cluster() {
            for (weak, strong) in links {
                let _: () = redis::cmd("SET")
                    .arg(self.link_key(weak))
                    .arg(strong)
                    .arg("EX")
                    .arg(ttl_secs)
                    .query_async(&mut c)
                    .await?;
            }
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (weak, strong) in links {
            pipe.cmd("SET")
                .arg(self.link_key(weak))
                .arg(strong)
                .arg("EX")
                .arg(ttl_secs)
                .ignore();
        }
        let _: () = pipe.query_async(&mut c).await?;
        Ok(())
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
        let script = redis::Script::new(RESERVE);
        let mut call = script.prepare_invoke();
        call.arg(now_ms);
        for r in requests {
            call.key(self.cap_key(person, r))
                .arg(&r.field)
                .arg(r.cap)
                .arg(if r.window_start.is_some() { "0" } else { "1" })
                .arg(r.window_ms);
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
        let _: i64 = redis::Script::new(RELEASE)
            .key(self.cap_key(person, request))
            .arg(&request.field)
            .arg(if request.window_start.is_some() {
                "0"
            } else {
                "1"
            })
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }
}

fn request(p: &adpulse_capping::plan::Planned) -> CapRequest {
    if p.window.rolling {
        CapRequest {
            field: p.field.clone(),
            cap: p.cap,
            window_start: None,
            window_ms: (p.window.end - p.window.start).num_milliseconds(),
        }
    } else {
        CapRequest {
            field: p.field.clone(),
            cap: p.cap,
            window_start: Some(p.window.start.timestamp()),
            window_ms: p.window.end.timestamp_millis(),
        }
    }
}

fn unavailable(e: RedisError) -> adpulse_capping::StoreError {
    adpulse_capping::StoreError::Unavailable(e.to_string())
}

impl adpulse_capping::CapStore for Redis {
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
}

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
    ) -> Result<(), adpulse_capping::StoreError> {
        let ttl = (until - chrono::Utc::now()).num_seconds().max(1);
        self.learn_links(links, ttl.unsigned_abs())
            .await
            .map_err(unavailable)
    }
}
