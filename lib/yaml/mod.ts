/**
 * YAML as Salt reads and writes it: PyYAML's YAML 1.1 with Salt's loader for state files,
 * settings and templates' `load_yaml`, and PyYAML's dumper style for the `yaml` filters.
 * @module
 */
export { implicitType, loadYaml, parseYaml, type YamlDocument, YamlError } from "./load.ts";
export { dumpYaml, yamlDquote, yamlEncode, yamlSquote } from "./dump.ts";
