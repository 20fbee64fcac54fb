//! MCP servers that are correct in another way than the reference server pass. The
//! reference server is wrapped so that its 401 challenges name no `resource_metadata`
//! while its protected resource metadata stays at the well-known URL: MCP 2025-11-25
//! §Protected Resource Metadata Discovery Requirements asks servers to "implement one of"
//! the two mechanisms, so RS-CHAL-01 passes graded by 2025-11-25 and later. MCP
//! 2025-06-18 required the header on every 401: graded by it, the case fails.

use mcp_authz_reference::bearer;
use mcp_authz_reference::defects::Defects;
use mcp_authz_reference::mcp_server::McpServer;
use mcp_authz_reference::sans_io::{Env, FetchResult, Request, Service, Step};
use mcp_authz_scenarios::world::{AS, MCP, MCP_ORIGIN, TargetKind, World};
use mcp_authz_scenarios::{catalog, run_against};
use mcp_authz_sim::scenario::{Revision, Verdict};
use std::cell::Cell;
use std::rc::Rc;

/// The reference MCP server, its challenges without `resource_metadata`; counts the
/// challenges it changed.
struct WellKnownOnly {
    inner: McpServer,
    changed: Rc<Cell<usize>>,
}

impl WellKnownOnly {
    fn strip(&self, step: Step<<McpServer as Service>::Pending>) -> Step<<McpServer as Service>::Pending> {
        let Step::Respond(mut r) = step else { return step };
        let challenge = bearer::bearer_challenge(r.headers()).ok().flatten();
        if let Some(mut c) = challenge.filter(|c| c.get("resource_metadata").is_some()) {
            c.params.retain(|(k, _)| k != "resource_metadata");
            let value = c.to_header_value();
            r.headers_mut().insert(http::header::WWW_AUTHENTICATE, value.parse().expect("a header value"));
            self.changed.set(self.changed.get() + 1);
        }
        Step::Respond(r)
    }
}

impl Service for WellKnownOnly {
    type Pending = <McpServer as Service>::Pending;

    fn handle(&mut self, request: Request, env: &mut Env<'_>) -> Step<Self::Pending> {
        let step = self.inner.handle(request, env);
        self.strip(step)
    }

    fn resume(
        &mut self,
        pending: Self::Pending,
        fetched: FetchResult,
        env: &mut Env<'_>,
    ) -> Step<Self::Pending> {
        let step = self.inner.resume(pending, fetched, env);
        self.strip(step)
    }
}

#[test]
fn a_challenge_without_resource_metadata_passes_where_the_well_known_url_is_enough() {
    let scenario = catalog().into_iter().find(|s| s.meta.id == "RS-CHAL-01").expect("in the catalog");
    for (revision, expected) in [
        (Revision::R2025_06_18, Verdict::Fail),
        (Revision::R2025_11_25, Verdict::Pass),
        (Revision::R2026_07_28, Verdict::Pass),
    ] {
        let changed = Rc::new(Cell::new(0));
        let (result, trace) = run_against(TargetKind::Simulated, &scenario, 1, || {
            let mut world = World::new(1, &Defects::none())?.graded_by(Some(revision));
            let inner = McpServer::new(world.mcp_config(MCP, AS))?;
            world.sim.add_service(MCP_ORIGIN, WellKnownOnly { inner, changed: Rc::clone(&changed) });
            Ok(world)
        });
        assert!(changed.get() > 0, "{revision}: the challenge lost resource_metadata:\n{trace}");
        assert_eq!(result.verdict, expected, "{revision}: {}\n{trace}", result.detail);
    }
}
