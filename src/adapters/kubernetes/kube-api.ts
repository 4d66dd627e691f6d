// The nine Kubernetes API calls the guard makes, built from @kubernetes/client-node's generated request factories
// and response processors and composed the way the client's own ObservableAPI composes them (merge the call's
// options, run middleware, send through the client's HTTP library, deserialize). Why not the client's AppsV1Api:
// its module graph (every API group and model, ~20 MB of source kept by V8) costs ~30 MB of RSS. ADR 0008.
import type { AppsV1Api, ConfigurationOptions, CoordinationV1Api, EventsV1Api } from '@kubernetes/client-node';
import { AppsV1ApiRequestFactory, AppsV1ApiResponseProcessor } from '@kubernetes/client-node/dist/gen/apis/AppsV1Api.js';
import { CoordinationV1ApiRequestFactory, CoordinationV1ApiResponseProcessor } from '@kubernetes/client-node/dist/gen/apis/CoordinationV1Api.js';
import { EventsV1ApiRequestFactory, EventsV1ApiResponseProcessor } from '@kubernetes/client-node/dist/gen/apis/EventsV1Api.js';
import { mergeConfiguration, type Configuration } from '@kubernetes/client-node/dist/gen/configuration.js';
import type { RequestContext, ResponseContext } from '@kubernetes/client-node/dist/gen/http/http.js';

/** The AppsV1Api methods the guard calls, with the client's own signatures. */
export type AppsApi = Pick<AppsV1Api, 'readNamespacedDeployment' | 'listNamespacedDeployment' | 'listDeploymentForAllNamespaces' | 'listNamespacedReplicaSet' | 'patchNamespacedDeployment'>;
/** The CoordinationV1Api methods the guard calls, with the client's own signatures. */
export type CoordinationApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

/** The EventsV1Api methods the guard calls (Kubernetes Events on the Deployments it judges). */
export type EventsApi = Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;

/** One call: what ObservableAPI's `...WithHttpInfo` does, then `.data`. */
async function send<T>(
  base: Configuration,
  options: ConfigurationOptions | undefined,
  request: (config: Configuration) => Promise<RequestContext>,
  respond: (response: ResponseContext) => Promise<{ data: T }>,
): Promise<T> {
  const config = mergeConfiguration(base, options);
  let context = await request(config);
  for (const m of config.middleware) context = await m.pre(context).toPromise();
  let response = await config.httpApi.send(context).toPromise();
  for (const m of [...config.middleware].reverse()) response = await m.post(response).toPromise();
  return (await respond(response)).data;
}

export function appsApi(config: Configuration): AppsApi {
  const f = new AppsV1ApiRequestFactory(config);
  const r = new AppsV1ApiResponseProcessor();
  return {
    readNamespacedDeployment: (p, o) =>
      send(config, o, (c) => f.readNamespacedDeployment(p.name, p.namespace, p.pretty, c), (res) => r.readNamespacedDeploymentWithHttpInfo(res)),
    // A fleet's Deployments, by label selector: in one namespace, or in every namespace.
    listNamespacedDeployment: (p, o) =>
      send(
        config,
        o,
        (c) => f.listNamespacedDeployment(p.namespace, p.pretty, p.allowWatchBookmarks, p._continue, p.fieldSelector, p.labelSelector, p.limit, p.resourceVersion, p.resourceVersionMatch, p.sendInitialEvents, p.timeoutSeconds, p.watch, c),
        (res) => r.listNamespacedDeploymentWithHttpInfo(res),
      ),
    listDeploymentForAllNamespaces: (p = {}, o) =>
      send(
        config,
        o,
        (c) => f.listDeploymentForAllNamespaces(p.allowWatchBookmarks, p._continue, p.fieldSelector, p.labelSelector, p.limit, p.pretty, p.resourceVersion, p.resourceVersionMatch, p.sendInitialEvents, p.timeoutSeconds, p.watch, c),
        (res) => r.listDeploymentForAllNamespacesWithHttpInfo(res),
      ),
    listNamespacedReplicaSet: (p, o) =>
      send(
        config,
        o,
        (c) => f.listNamespacedReplicaSet(p.namespace, p.pretty, p.allowWatchBookmarks, p._continue, p.fieldSelector, p.labelSelector, p.limit, p.resourceVersion, p.resourceVersionMatch, p.sendInitialEvents, p.timeoutSeconds, p.watch, c),
        (res) => r.listNamespacedReplicaSetWithHttpInfo(res),
      ),
    patchNamespacedDeployment: (p, o) =>
      send(
        config,
        o,
        (c) => f.patchNamespacedDeployment(p.name, p.namespace, p.body, p.pretty, p.dryRun, p.fieldManager, p.fieldValidation, p.force, c),
        (res) => r.patchNamespacedDeploymentWithHttpInfo(res),
      ),
  };
}

export function coordinationApi(config: Configuration): CoordinationApi {
  const f = new CoordinationV1ApiRequestFactory(config);
  const r = new CoordinationV1ApiResponseProcessor();
  return {
    readNamespacedLease: (p, o) => send(config, o, (c) => f.readNamespacedLease(p.name, p.namespace, p.pretty, c), (res) => r.readNamespacedLeaseWithHttpInfo(res)),
    createNamespacedLease: (p, o) =>
      send(config, o, (c) => f.createNamespacedLease(p.namespace, p.body, p.pretty, p.dryRun, p.fieldManager, p.fieldValidation, c), (res) => r.createNamespacedLeaseWithHttpInfo(res)),
    replaceNamespacedLease: (p, o) =>
      send(
        config,
        o,
        (c) => f.replaceNamespacedLease(p.name, p.namespace, p.body, p.pretty, p.dryRun, p.fieldManager, p.fieldValidation, c),
        (res) => r.replaceNamespacedLeaseWithHttpInfo(res),
      ),
  };
}

export function eventsApi(config: Configuration): EventsApi {
  const f = new EventsV1ApiRequestFactory(config);
  const r = new EventsV1ApiResponseProcessor();
  return {
    createNamespacedEvent: (p, o) =>
      send(config, o, (c) => f.createNamespacedEvent(p.namespace, p.body, p.pretty, p.dryRun, p.fieldManager, p.fieldValidation, c), (res) => r.createNamespacedEventWithHttpInfo(res)),
    patchNamespacedEvent: (p, o) =>
      send(
        config,
        o,
        (c) => f.patchNamespacedEvent(p.name, p.namespace, p.body, p.pretty, p.dryRun, p.fieldManager, p.fieldValidation, p.force, c),
        (res) => r.patchNamespacedEventWithHttpInfo(res),
      ),
  };
}
