//! State handles (MCP 2026-07-28 server/tools §Stateful Tools; Security Best Practices
//! §State Handle Hijacking): `open_cart` mints a handle for its caller and returns it in
//! its result; `cart_show` takes it back as an ordinary argument. A handle is 256 random
//! bits, bound server-side to the principal that opened it — another principal's call is
//! answered as if the handle did not exist — forgotten after the idle timeout, and each
//! principal holds at most [`super::Config::max_sessions_per_principal`] of them (opening
//! one more forgets that principal's oldest), so a flood stays bounded.
//!
//! Defects: `state-handle-not-bound` (any principal may use any handle) and
//! `predictable-state-handle` (handles numbered `cart-1`, `cart-2`, …).

use super::session::Principal;
use super::tools::text_result;
use crate::defects::{Defect, Defects};
use crate::sans_io::{Env, Time};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// One cart: who opened it, what it holds, when it was last used.
#[derive(Debug)]
struct Cart {
    owner: Principal,
    items: Vec<String>,
    last_used: Time,
}

/// The open carts.
#[derive(Debug)]
pub(super) struct Carts {
    by_handle: BTreeMap<String, Cart>,
    by_owner: BTreeMap<Principal, VecDeque<String>>,
    opened: u64,
    per_principal: usize,
    idle_timeout: Duration,
    defects: Defects,
}

impl Carts {
    /// No carts yet; each principal holds at most `per_principal`, each forgotten after
    /// `idle_timeout` unused.
    pub(super) fn new(per_principal: usize, idle_timeout: Duration, defects: Defects) -> Self {
        Carts {
            by_handle: BTreeMap::new(),
            by_owner: BTreeMap::new(),
            opened: 0,
            per_principal,
            idle_timeout,
            defects,
        }
    }

    /// How many carts are open.
    pub(super) fn len(&self) -> usize {
        self.by_handle.len()
    }

    /// `open_cart`: a new cart for `owner`, holding `arguments.item` if given; the result
    /// is its handle.
    pub(super) fn open(
        &mut self,
        owner: Principal,
        arguments: &Map<String, Value>,
        env: &mut Env<'_>,
    ) -> Value {
        let now = env.now;
        let idle = self.idle_timeout;
        self.by_handle.retain(|_, c| now.since(c.last_used) < idle);
        self.opened += 1;
        let handle = match self.defects.has(Defect::PredictableStateHandle) {
            true => format!("cart-{}", self.opened),
            false => env.random_string(32),
        };
        let items = arguments.get("item").and_then(Value::as_str).map(String::from).into_iter().collect();
        self.by_handle.insert(handle.clone(), Cart { owner: owner.clone(), items, last_used: now });
        let by_handle = &mut self.by_handle;
        let handles = self.by_owner.entry(owner).or_default();
        handles.retain(|h| by_handle.contains_key(h));
        handles.push_back(handle.clone());
        while self.per_principal > 0 && handles.len() > self.per_principal {
            if let Some(oldest) = handles.pop_front() {
                by_handle.remove(&oldest);
            }
        }
        text_result(&handle, false)
    }

    /// `cart_show`: what the cart `arguments.cart` holds, for its owner; for anyone else
    /// (and for an unknown or expired handle) a tool error.
    pub(super) fn show(&mut self, caller: &Principal, arguments: &Map<String, Value>, now: Time) -> Value {
        let Some(handle) = arguments.get("cart").and_then(Value::as_str) else {
            return text_result("argument `cart`: missing, expected the handle open_cart returned", true);
        };
        let unbound = self.defects.has(Defect::StateHandleNotBound);
        match self.by_handle.get_mut(handle) {
            Some(c) if (c.owner == *caller || unbound) && now.since(c.last_used) < self.idle_timeout => {
                c.last_used = now;
                text_result(&format!("cart {handle}: {}", c.items.join(", ")), false)
            }
            _ => text_result(&format!("no cart `{handle}` of yours"), true),
        }
    }
}
