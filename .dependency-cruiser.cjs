// The import-cycle check of `npm test` (npm run lint:cycles): no cycle between files, and none between the
// folders of src/ (a feature folder that imports another must not be imported back by it).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-file-cycle',
      severity: 'error',
      comment: 'Files import each other in a cycle: move the shared piece into a file both can import.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      severity: 'error',
      scope: 'folder',
      comment:
        'Folders import each other in a cycle: arrows point down (cli → drill → sources/environments/verify/objectives → evidence/views → model).',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^node_modules|\\.test\\.ts$|\\.testkit\\.ts$|^src/testing/)' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
