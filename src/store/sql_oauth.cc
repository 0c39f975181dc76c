// SqlStore: OAuth clients, authorization codes and rotating token pairs (store.h, docs/mcp.md).
#include "store/sql_store_internal.h"

namespace varg {

using namespace sqlstore;

namespace {

constexpr const char* kTokenCols =
    "SELECT id, family, client_id, user_id, scope, access_hash, refresh_hash, access_expires_at, refresh_expires_at, "
    "created_at, revoked_at FROM oauth_tokens ";

OAuthToken read_token(const Rows& r, int i) {
  return OAuthToken{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3), r.text(i, 4), r.text(i, 5), r.text(i, 6),
                    r.i64(i, 7), r.i64(i, 8), r.i64(i, 9), r.i64(i, 10)};
}

Status insert_token(Tx& t, const OAuthToken& k) {
  return t.run("INSERT INTO oauth_tokens(id, family, client_id, user_id, scope, access_hash, refresh_hash, access_expires_at, "
               "refresh_expires_at, created_at, revoked_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               {k.id, k.family, k.client_id, k.user_id, k.scope, k.access_hash, k.refresh_hash, k.access_expires_at,
                k.refresh_expires_at, k.created_at, k.revoked_at})
      .status();
}

}  // namespace

Status SqlStore::insert_oauth_client(const OAuthClient& c) {
  return write_one(db(), "INSERT INTO oauth_clients(id, name, redirect_uris, created_at) VALUES(?, ?, ?, ?)",
                   {c.id, c.name, c.redirect_uris, c.created_at});
}

Result<OAuthClient> SqlStore::oauth_client(const std::string& id) {
  return read_one(db(), "No such OAuth client", "SELECT id, name, redirect_uris, created_at FROM oauth_clients WHERE id = ?",
                  {id}, [](const Rows& r, int i) { return OAuthClient{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3)}; });
}

Status SqlStore::insert_oauth_code(const OAuthCode& c) {
  return write_one(db(),
                   "INSERT INTO oauth_codes(hash, client_id, user_id, redirect_uri, challenge, scope, expires_at) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?)",
                   {c.hash, c.client_id, c.user_id, c.redirect_uri, c.challenge, c.scope, c.expires_at});
}

Result<OAuthCode> SqlStore::take_oauth_code(const std::string& hash, int64_t now) {
  OAuthCode out;
  VARG_TRY(db().write([&](Tx& t) -> Status {
    auto r = t.run("SELECT hash, client_id, user_id, redirect_uri, challenge, scope, expires_at FROM oauth_codes WHERE hash = ?",
                   {hash});
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such authorization code");
    out = OAuthCode{r->text(0, 0), r->text(0, 1), r->i64(0, 2), r->text(0, 3), r->text(0, 4), r->text(0, 5), r->i64(0, 6)};
    VARG_TRY(t.run("DELETE FROM oauth_codes WHERE hash = ?", {hash}).status());  // once, whatever follows
    if (out.expires_at <= now) return error(Code::not_found, "The authorization code expired");
    return Status::Ok();
  }));
  return out;
}

Status SqlStore::insert_oauth_token(const OAuthToken& k) {
  return db().write([&](Tx& t) { return insert_token(t, k); });
}

Result<OAuthToken> SqlStore::oauth_token_by_access(const std::string& hash) {
  return read_one(db(), "No such access token", std::string(kTokenCols) + "WHERE access_hash = ?", {hash}, read_token);
}

Result<OAuthToken> SqlStore::oauth_token_by_refresh(const std::string& hash) {
  return read_one(db(), "No such refresh token", std::string(kTokenCols) + "WHERE refresh_hash = ?", {hash}, read_token);
}

Result<OAuthToken> SqlStore::rotate_oauth_token(const std::string& refresh_hash, OAuthToken next, int64_t now) {
  bool replayed = false;
  auto done = db().write([&](Tx& t) -> Status {
    auto r = t.run(std::string(kTokenCols) + "WHERE refresh_hash = ?", {refresh_hash});
    if (!r.ok()) return r.status();
    if (r->empty()) return error(Code::not_found, "No such refresh token");
    const OAuthToken old = read_token(*r, 0);
    if (old.revoked_at != 0) {  // used before, or revoked: a replay revokes the whole grant
      replayed = true;
      return t.run("UPDATE oauth_tokens SET revoked_at = ? WHERE family = ? AND revoked_at = 0", {now, old.family}).status();
    }
    if (old.refresh_expires_at <= now) return error(Code::not_found, "The refresh token expired");
    VARG_TRY(t.run("UPDATE oauth_tokens SET revoked_at = ? WHERE id = ?", {now, old.id}).status());
    next.family = old.family, next.client_id = old.client_id, next.user_id = old.user_id, next.scope = old.scope;
    next.revoked_at = 0;
    return insert_token(t, next);
  });
  if (!done.ok()) return done;
  if (replayed) return error(Code::not_found, "The refresh token was used before: every token of its grant is revoked");
  return next;
}

Result<bool> SqlStore::revoke_oauth_family(int64_t user_id, const std::string& family, int64_t now) {
  return write_changed(db(), "UPDATE oauth_tokens SET revoked_at = ? WHERE user_id = ? AND family = ? AND revoked_at = 0",
                       {now, user_id, family});
}

Result<std::vector<OAuthToken>> SqlStore::oauth_tokens_of(int64_t user_id, int64_t now) {
  return read_all(db(), std::string(kTokenCols) + "WHERE user_id = ? AND revoked_at = 0 AND refresh_expires_at > ? ORDER BY created_at DESC",
                  {user_id, now}, read_token);
}

}  // namespace varg
