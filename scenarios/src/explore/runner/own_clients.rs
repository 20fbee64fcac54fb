//! The attacker's own clients: a public client registered at an AS like anyone's, and
//! one asking for upper-case spellings of the scopes ([`UPPER_CASE_SCOPES`]); the calls
//! they make (one tool, or a JSON-RPC batch of two) and a withheld code redeemed as
//! another client or past its lifetime.

use super::*;

impl Runner {
    /// Attacker `a`'s own client (its upper-case-scope client when `upper`) calls `tool`
    /// at `server`.
    pub(super) fn own_call(
        &mut self,
        a: usize,
        upper: bool,
        server: Server,
        tool: Tool,
    ) -> Result<(), Error> {
        let (name, defects) = (format!("mallory{a}"), &self.defects);
        let attacker = &mut self.attackers[a];
        let (party, name, client_name) = match upper {
            false => (&mut attacker.own, name, "mallory"),
            true => (&mut attacker.upper, format!("{name}{UPPER_CASE_CLIENT}"), "mallory upper"),
        };
        if party.is_none() {
            *party = Some(Party::new(client_name, defects, false)?);
        }
        if let Some(own) = party.as_mut() {
            own.point_at(server.url())?;
            let op = Operation::CallTool { name: tool.name().into(), arguments: tool.arguments() };
            self.world.run_client(&name, &mut own.client, op)?;
        }
        Ok(())
    }

    /// Attacker `a` sends `calls` as one JSON-RPC batch to `server` with its own client's
    /// token for it; its own client first calls the first tool there when it holds none.
    pub(super) fn batch_call(&mut self, a: usize, server: Server, calls: [Tool; 2]) -> Result<(), Error> {
        let token = |att: &Attacker| {
            let tokens = att.own.as_ref().and_then(|p| p.client.tokens());
            tokens.filter(|t| t.resource == server.url()).map(|t| t.access_token.clone())
        };
        if token(&self.attackers[a]).is_none() {
            self.own_call(a, false, server, calls[0])?;
        }
        let Some(token) = token(&self.attackers[a]) else { return Ok(()) };
        let batch: Vec<Value> = (1..)
            .zip(calls)
            .map(|(id, tool)| {
                let mut call = World::call_body(tool.name(), tool.arguments());
                call["id"] = Value::from(id);
                call
            })
            .collect();
        let _ =
            self.world.send_in_session(&format!("attacker{a}"), server.url(), &token, &Value::from(batch));
        Ok(())
    }

    /// Attacker `a` presents the code of `withheld` with its verifier, `how` says as which
    /// client and when.
    pub(super) fn redeem_withheld(
        &mut self,
        a: usize,
        withheld: &Withheld,
        how: WithheldCodeUse,
    ) -> Result<(), Error> {
        let issuer = withheld.issuer.as_str();
        let client_id = match how {
            WithheldCodeUse::OwnClient if self.attackers[a].capabilities.own_client => {
                self.own_client_id(a, issuer)?
            }
            WithheldCodeUse::OwnClient => None,
            WithheldCodeUse::AfterLifetime => {
                let lifetime =
                    self.world.sim.service::<AuthorizationServer>(issuer).map(|s| s.config().code_ttl);
                let age = self.world.now().since(withheld.at);
                if let Some(rest) = lifetime.and_then(|l| l.checked_sub(age)) {
                    self.world.advance(rest + Duration::from_secs(1));
                }
                withheld.form.get("client_id").cloned()
            }
        };
        let Some(client_id) = client_id else { return Ok(()) };
        let field = |k: &str| withheld.form.get(k).map(String::as_str).unwrap_or_default();
        let form = form(&[
            ("grant_type", "authorization_code"),
            ("code", field("code")),
            ("redirect_uri", field("redirect_uri")),
            ("code_verifier", field("code_verifier")),
            ("client_id", &client_id),
        ]);
        let req = wire::post_form_request(&format!("{issuer}/token"), &form)?;
        self.world.send(&format!("attacker{a}"), req)?;
        Ok(())
    }

    /// The `client_id` of attacker `a`'s own registration at `issuer`, registering a
    /// public client first when it has none there.
    pub(super) fn own_client_id(&mut self, a: usize, issuer: &str) -> Result<Option<String>, Error> {
        if let Some(id) = self.attackers[a].registered.get(issuer) {
            return Ok(Some(id.clone()));
        }
        let req = wire::post_json_request(&format!("{issuer}/register"), &own_registration(a))?;
        let answer = self.world.send(&format!("attacker{a}"), req)?;
        let info: Option<Value> = serde_json::from_slice(answer.body()).ok();
        let id = info.as_ref().and_then(|i| i.get("client_id")).and_then(Value::as_str).map(String::from);
        if let Some(id) = &id {
            self.attackers[a].registered.insert(issuer.to_string(), id.clone());
        }
        Ok(id)
    }
}

/// The configuration of an authorization server that also defines [`UPPER_CASE_SCOPES`]
/// for its MCP servers and its registration policy.
pub(super) fn with_upper_case_scopes(mut config: authz::Config) -> authz::Config {
    let upper = || UPPER_CASE_SCOPES.map(String::from);
    for resource in config.resources.iter_mut().filter(|r| r.scopes.iter().any(|s| s.starts_with("mcp:"))) {
        resource.scopes.extend(upper());
    }
    config.registration_scopes.extend(upper());
    config
}

/// Rebuilds the world's trusted AS with [`UPPER_CASE_SCOPES`] defined (from the same
/// seed, so with the same keys); returns its keys.
pub(super) fn define_upper_case_scopes(world: &mut World) -> Result<Jwks, Error> {
    let trusted = world.authorization_server().map_err(|s| Error::Config(s.0))?;
    let (config, jwks) = (with_upper_case_scopes(trusted.config().clone()), trusted.jwks());
    let server = world.sim.env_for("as", |env| AuthorizationServer::new(config, env))?;
    if server.jwks() != jwks {
        return Err(Error::Config("the rebuilt authorization server drew other keys".into()));
    }
    world.sim.add_service(AS, server);
    Ok(jwks)
}

/// The client metadata of attacker `a`'s own (public) client.
pub(super) fn own_registration(a: usize) -> Value {
    serde_json::json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "client_name": format!("mallory{a}"),
    })
}
