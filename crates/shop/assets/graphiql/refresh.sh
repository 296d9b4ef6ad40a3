#!/usr/bin/env bash
# Refreshes the vendored GraphiQL and React builds from the npm registry.
# Usage: refresh.sh <graphiql version> <react version>, e.g. refresh.sh 4.1.2 18.3.1
set -euo pipefail
graphiql=${1:?graphiql version}
react=${2:?react version}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for package in "graphiql@$graphiql" "react@$react" "react-dom@$react"; do
  mkdir "${package%@*}"
  tar -xzf "$(npm pack --silent "$package")" -C "${package%@*}"
done
cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$here/"
cp graphiql/package/LICENSE "$here/LICENSE-graphiql"
cp react/package/umd/react.production.min.js react-dom/package/umd/react-dom.production.min.js "$here/"
cp react/package/LICENSE "$here/LICENSE-react"
cd "$here" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
