//! The rules a message passes on its way: the adversary's interceptors, in the order
//! they were added, then the harness's observers. An observer watches the role under
//! test (which requests a client sends, say): it sees what is delivered, after the
//! adversary, and cannot change it; the adversary cannot see or remove it.

use super::{Channel, Interceptor, Message, Verdict};
use crate::network::clone_response;
use mcp_authz_reference::sans_io::{Request, Response};

/// An interceptor and the channels it sees.
type Rule = (Vec<Channel>, Box<dyn Interceptor>);

/// The adversary's rules and the harness's observers.
#[derive(Default)]
pub(super) struct Rules {
    adversary: Vec<Rule>,
    observers: Vec<Rule>,
}

impl Rules {
    /// True when no rule is installed.
    pub(super) fn is_empty(&self) -> bool {
        self.adversary.is_empty() && self.observers.is_empty()
    }

    /// True when some rule sees `channel`.
    pub(super) fn watch(&self, channel: Channel) -> bool {
        self.adversary.iter().chain(&self.observers).any(|(channels, _)| channels.contains(&channel))
    }

    /// Appends an adversary rule.
    pub(super) fn add_adversary(&mut self, channels: Vec<Channel>, interceptor: Box<dyn Interceptor>) {
        self.adversary.push((channels, interceptor));
    }

    /// Removes every adversary rule; the observers stay.
    pub(super) fn clear_adversary(&mut self) {
        self.adversary.clear();
    }

    /// Removes every observer; the adversary's rules stay.
    pub(super) fn clear_observers(&mut self) {
        self.observers.clear();
    }

    /// Appends an observer.
    pub(super) fn add_observer(&mut self, channels: Vec<Channel>, watcher: Box<dyn Interceptor>) {
        self.observers.push((channels, watcher));
    }

    /// Runs the adversary's rules on `req` in order, until one drops or answers it; the
    /// observers then see what will be delivered (a copy: they change nothing).
    pub(super) fn on_request(&mut self, msg: &Message, req: &mut Request) -> Verdict {
        for (channels, icpt) in &mut self.adversary {
            if channels.contains(&msg.channel) {
                match icpt.on_request(msg, req) {
                    Verdict::Pass => {}
                    stop => return stop,
                }
            }
        }
        for (channels, watcher) in &mut self.observers {
            if channels.contains(&msg.channel) {
                let _ = watcher.on_request(msg, &mut super::clone_request(req));
            }
        }
        Verdict::Pass
    }

    /// Shows the answer to `req` to the adversary's rules in order (each may rewrite it),
    /// then to the observers (a copy).
    pub(super) fn on_response(&mut self, msg: &Message, req: &Request, resp: &mut Response) {
        for (channels, icpt) in &mut self.adversary {
            if channels.contains(&msg.channel) {
                icpt.on_response(msg, req, resp);
            }
        }
        for (channels, watcher) in &mut self.observers {
            if channels.contains(&msg.channel) {
                watcher.on_response(msg, req, &mut clone_response(resp));
            }
        }
    }
}
