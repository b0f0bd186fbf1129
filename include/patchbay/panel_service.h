// patchbay/panel_service.h — seed 002's marketplace endpoints for a panel
// laid out as seed 002 describes (patchbay/install.h's PanelInstaller), over
// HTTP, for `patchbay panel serve`:
//
//   GET    /api/v1/marketplace                 available plugins and what is installed
//   POST   /api/v1/marketplace/install         {"plugin_id": "ai_chatbot", "version": "1.0.0"}
//   DELETE /api/v1/marketplace/uninstall/{id}
//
// Admin only (seed 002: "require_admin"): Authorization: Bearer <token>.
// The first token is made at first start and written to
// <registry folder>/.patchbay-install/admin-token (mode 0600).
#pragma once

#include <memory>
#include <string>

#include "patchbay/http.h"
#include "patchbay/install.h"

namespace patchbay {

class PanelService {
 public:
  static Result<std::unique_ptr<PanelService>> open(const PanelLayout& layout, const SourceConfig& source);
  ~PanelService();
  // Where the first admin token was written.
  std::string adminTokenPath() const;
  // The endpoints above; keep the service alive while the router is used.
  void addRoutes(http::Router& router);

  struct Impl;

 private:
  explicit PanelService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace patchbay
