namespace k8swatch {}
