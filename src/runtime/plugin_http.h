// What crosses between HTTP and a plugin's routes, on the C++ side (no V8):
// the request as the prelude's dispatch takes it, and the plugin's answer
// checked before any of it reaches HTTP. Internal to the runtime.
#pragma once

#include <optional>
#include <string>

#include "patchbay/result.h"
#include "patchbay/runtime.h"

namespace patchbay {

// A request ready for dispatch(ticket, requestJson, body, bodyIsText).
struct DispatchedRequest {
  std::string requestJson;  // method, path, url, query, headers, user (not the body)
  bool bodyIsText = true;   // else the body goes to the plugin as bytes (a Uint8Array)
};

// The request for the plugin, or the answer it gets without reaching the
// plugin (a JSON body nested too deep for any real document: 400).
Result<DispatchedRequest> dispatchedRequest(const PluginRequest& request);

// The plugin's answer as HTTP may carry it: status 200-599, header names
// that are HTTP tokens, values without CR, LF or NUL, no body where the
// status forbids one. An error names what was wrong (the plugin's bug: the
// caller logs it and answers 500).
Result<PluginResponse> checkedResponse(const std::string& envelopeJson, std::string body);

// The JSON answers the runtime gives in a plugin's name.
PluginResponse pluginErrorResponse(int status, const std::string& error, const std::string& message = "");

}  // namespace patchbay
