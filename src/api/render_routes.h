// Cloud Render routes (SPEC 10, app dialect): submit, poll, stream, cancel and list render jobs.
#pragma once
#include "api/services.h"
#include "render/render_service.h"

namespace varg {

void add_render_routes(Api& api, render::RenderService& render, Services& s);

}  // namespace varg
