#pragma once
// The Node decoder (see decode.h for the conventions shared by all decoders). The agent reads
// only its own Node: labels for topology, InternalIP/ExternalIP addresses for node ports.

#include <boost/json/fwd.hpp>

#include "ipvs/model.h"
#include "k8swatch/decode.h"

namespace k8swatch {

Decoded<ipvs::Node> decodeNode(const boost::json::value& v);

}  // namespace k8swatch
